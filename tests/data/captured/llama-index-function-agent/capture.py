import asyncio
import os

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.llms.azure_openai import AzureOpenAI


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


async def main():
    mock_url = os.environ["MOCK_URL"]
    llm = AzureOpenAI(
        engine="o3-mini",
        model="o3-mini",
        azure_endpoint=f"{mock_url}",
        api_key="k",
        api_version="2025-01-01-preview",
    )
    agent = FunctionAgent(
        tools=[get_weather], llm=llm, system_prompt="You are a helpful assistant."
    )
    out = await agent.run("What is the weather in Paris?")
    print("RESULT:", str(out)[:150].replace("\n", " "))


asyncio.run(main())
