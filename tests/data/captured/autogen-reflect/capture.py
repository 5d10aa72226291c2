import asyncio
import os

os.environ.setdefault("REFLECT", "1")
os.environ.setdefault("ITER", "1")
from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient


async def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


async def main():
    mock_url = os.environ["MOCK_URL"]
    client = AzureOpenAIChatCompletionClient(
        azure_deployment="o3-mini",
        model="o3-mini",
        api_version="2025-01-01-preview",
        azure_endpoint=f"{mock_url}",
        api_key="k",
    )
    agent = AssistantAgent(
        "assistant",
        model_client=client,
        tools=[get_weather],
        reflect_on_tool_use=os.environ.get("REFLECT") == "1",
        max_tool_iterations=int(os.environ.get("ITER", "1")),
    )
    result = await agent.run(task="What is the weather in Paris?")
    for m in result.messages:
        print(type(m).__name__, str(getattr(m, "content", ""))[:120].replace("\n", " "))
    print("stop:", result.stop_reason)


asyncio.run(main())
