import os

os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
os.environ["OTEL_SDK_DISABLED"] = "true"
os.environ["CREWAI_TRACING_ENABLED"] = "false"
from crewai import LLM, Agent, Crew, Task
from crewai.tools import tool


@tool("get_weather")
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The sky over {city} is clear, 21 C."


MOCK_URL = os.environ["MOCK_URL"]
llm = LLM(
    model="azure/o3-mini",
    endpoint=f"{MOCK_URL}/openai/deployments/o3-mini",
    api_key="k",
    api_version="2025-01-01-preview",
)
agent = Agent(
    role="Weather reporter",
    goal="Report the weather",
    backstory="You report weather.",
    tools=[get_weather],
    llm=llm,
    max_iter=6,
    verbose=False,
)
task = Task(
    description="What is the weather in Paris?",
    expected_output="One sentence about the weather.",
    agent=agent,
)
out = Crew(agents=[agent], tasks=[task], verbose=False).kickoff()
print("RESULT:", str(out)[:200].replace("\n", " "))
