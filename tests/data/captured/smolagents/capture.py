import os

from smolagents import AzureOpenAIServerModel, CodeAgent, tool


@tool
def search(query: str) -> str:
    """Search the web for the query.

    Args:
        query: what to search for.
    """
    return "Paris is the capital of France."


model = AzureOpenAIServerModel(
    model_id="o3-mini",
    azure_endpoint=os.environ["MOCK_URL"],
    api_key="x",
    api_version="2024-12-01-preview",
)
agent = CodeAgent(tools=[search], model=model, max_steps=4)
print("RESULT", agent.run("What is the capital of France?"))
