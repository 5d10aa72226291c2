import os

os.environ.setdefault("KIND", "tool")
from smolagents import AzureOpenAIServerModel, CodeAgent, ToolCallingAgent, tool


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return f"The sky over {city} is clear, 21 C."


MOCK_URL = os.environ["MOCK_URL"]
model = AzureOpenAIServerModel(
    model_id="o3-mini", azure_endpoint=f"{MOCK_URL}", api_key="k", api_version="2025-01-01-preview"
)
kind = os.environ.get("KIND", "tool")
Agent = ToolCallingAgent if kind == "tool" else CodeAgent
agent = Agent(tools=[get_weather], model=model, max_steps=6, verbosity_level=0)
out = agent.run("What is the weather in Paris?")
print(kind, "RESULT:", str(out)[:150].replace("\n", " "), "| steps", len(agent.memory.steps))
