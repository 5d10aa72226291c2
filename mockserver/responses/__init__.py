"""The Responses API (`/openai/responses`, `/openai/v1/responses`) over the chat pipeline.

A Responses request is checked for its own fields, translated to a chat-completions body,
then checked and answered by the same pipeline as chat completions (schema, o3-mini rules,
token limits, quota, stubs, generator); the completion is written back as a `response`.
"""
