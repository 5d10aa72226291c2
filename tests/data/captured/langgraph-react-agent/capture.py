import os

from langchain_core.tools import tool
from langchain_openai import AzureChatOpenAI
from langgraph.prebuilt import create_react_agent

MOCK_URL = os.environ["MOCK_URL"]


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


@tool
def get_population(city: str) -> int:
    """Get the population of a city."""
    return 2_100_000


llm = AzureChatOpenAI(
    azure_endpoint=f"{MOCK_URL}",
    api_key="k",
    api_version="2025-01-01-preview",
    azure_deployment="o3-mini",
    max_retries=0,
)
agent = create_react_agent(llm, [get_weather, get_population])
result = agent.invoke(
    {"messages": [("user", "What is the weather in Paris?")]}, {"recursion_limit": 12}
)
for m in result["messages"]:
    print(
        type(m).__name__, (m.content or "")[:100].replace("\n", " "), getattr(m, "tool_calls", None)
    )
