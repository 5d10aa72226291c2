import os

from langchain_classic.agents import AgentExecutor, create_react_agent
from langchain_core.prompts import PromptTemplate
from langchain_core.tools import tool
from langchain_openai import AzureChatOpenAI

# The hwchase17/react prompt from the LangChain hub, as create_react_agent's docs use it.
TEMPLATE = (
    "Answer the following questions as best you can. "
    "You have access to the following tools:"
    """

{tools}

Use the following format:

Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [{tool_names}]
Action Input: the input to the action
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: I now know the final answer
Final Answer: the final answer to the original input question

Begin!

Question: {input}
Thought:{agent_scratchpad}"""
)


@tool
def search(query: str) -> str:
    """Search the web for the query."""
    return "Paris is the capital of France."


llm = AzureChatOpenAI(
    azure_deployment="o3-mini",
    azure_endpoint=os.environ["MOCK_URL"],
    api_key="x",
    api_version="2024-12-01-preview",
    max_retries=0,
)
stop = os.environ.get("STOP", "1") == "1"
agent = create_react_agent(
    llm, [search], PromptTemplate.from_template(TEMPLATE), stop_sequence=stop
)
executor = AgentExecutor(agent=agent, tools=[search], max_iterations=5, verbose=True)
print("RESULT", executor.invoke({"input": "What is the capital of France?"}))
