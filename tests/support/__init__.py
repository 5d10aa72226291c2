"""What the tests share, one module a noun: the chat request (`chat`), raw HTTP (`rawhttp`,
`sockets`), SDK clients (`clients`), SSE bodies (`sse`), bounded waits (`waiting`), JSON
Schema checks (`schemas`) and the vendored data (`testdata`).

Domain helpers stay beside their tests (tests/<area>/helpers.py); what two areas both need
lives here, once."""
