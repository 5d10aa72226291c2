import os

from openai import AsyncAzureOpenAI
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider


class Weather(BaseModel):
    city: str
    summary: str


client = AsyncAzureOpenAI(
    azure_endpoint=os.environ["MOCK_URL"],
    api_key="k",
    api_version="2025-01-01-preview",
    max_retries=0,
)
model = OpenAIChatModel("o3-mini", provider=OpenAIProvider(openai_client=client))
agent = Agent(model, output_type=Weather)


@agent.tool_plain
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


r = agent.run_sync("What is the weather in Paris?")
print("RESULT:", r.output, "| requests", len([m for m in r.all_messages() if m.kind == "response"]))
