"""The admin API under /__admin/ (WireMock's convention); a sub-app of its own."""
