import os

from haystack.components.agents import Agent
from haystack.components.generators.chat import AzureOpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.tools import Tool
from haystack.utils import Secret


def get_weather(city: str) -> str:
    return f"The sky over {city} is clear, 21 C."


tool = Tool(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    function=get_weather,
)
MOCK_URL = os.environ["MOCK_URL"]
gen = AzureOpenAIChatGenerator(
    azure_endpoint=f"{MOCK_URL}",
    azure_deployment="o3-mini",
    api_key=Secret.from_token("k"),
    api_version="2025-01-01-preview",
    max_retries=0,
)
agent = Agent(chat_generator=gen, tools=[tool], max_agent_steps=8)
result = agent.run(messages=[ChatMessage.from_user("What is the weather in Paris?")])
for m in result["messages"]:
    print(m.role, (m.text or "")[:100].replace("\n", " "), [t.tool_name for t in m.tool_calls])
