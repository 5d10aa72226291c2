from mockserver.cli.main import main

raise SystemExit(main())
