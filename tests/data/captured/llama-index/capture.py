import asyncio
import os

from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.tools import FunctionTool
from llama_index.llms.azure_openai import AzureOpenAI


def search(query: str) -> str:
    """Search the web for the query."""
    return "Paris is the capital of France."


llm = AzureOpenAI(
    engine="o3-mini",
    model="o3-mini",
    azure_endpoint=os.environ["MOCK_URL"],
    api_key="x",
    api_version="2024-12-01-preview",
    max_retries=0,
)
agent = ReActAgent(tools=[FunctionTool.from_defaults(search)], llm=llm)


async def main():
    print("RESULT", await agent.run("What is the capital of France?", max_iterations=6))


asyncio.run(main())
