import json
import os

os.environ.setdefault("CHOICE", "required")
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import (
    AssistantMessage,
    ChatCompletionsToolDefinition,
    CompletionsFinishReason,
    FunctionDefinition,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from azure.core.credentials import AzureKeyCredential

MOCK_URL = os.environ["MOCK_URL"]
client = ChatCompletionsClient(
    endpoint=f"{MOCK_URL}/openai/deployments/o3-mini",
    credential=AzureKeyCredential("k"),
    api_version="2025-01-01-preview",
)
weather = ChatCompletionsToolDefinition(
    function=FunctionDefinition(
        name="get_weather",
        description="Get the current weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
)
messages = [
    SystemMessage("You are a helpful assistant."),
    UserMessage("What is the weather in Paris?"),
]
choice = os.environ.get("CHOICE", "auto")
for turn in range(1, 9):
    r = client.complete(messages=messages, tools=[weather], tool_choice=choice)
    c = r.choices[0]
    if c.finish_reason == CompletionsFinishReason.TOOL_CALLS:
        messages.append(AssistantMessage(tool_calls=c.message.tool_calls))
        for call in c.message.tool_calls:
            args = json.loads(call.function.arguments)
            messages.append(
                ToolMessage(f"The sky over {args['city']} is clear, 21 C.", tool_call_id=call.id)
            )
        continue
    print(choice, "finished at turn", turn, ":", c.message.content[:100].replace("\n", " "))
    break
else:
    print(choice, "DID NOT FINISH")
