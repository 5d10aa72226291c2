"""The lane: inference requests in plain HTTP/1.1, answered without aiohttp's web layer.

aiohttp's request and response objects, middleware chain, prepare signal and stream
writer cost about 100 us of a 240 us small chat request (bench/README.md). The lane is
a connection that reads requests with aiohttp's own C parser and, for the requests it
takes (an inference route's POST with a Content-Length body, nothing else unusual),
runs the same steps as aiohttp's front: the gateway, the one pipeline, the journal, the
metrics; then writes the answer aiohttp would have written, byte for byte apart from
the ids and the date. The first request it does not take hands the connection over to
aiohttp's own, with the bytes of that request: the rest of the connection is aiohttp's.
"""
