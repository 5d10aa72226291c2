import os

import dspy

url = os.environ["MOCK_URL"]
lm = dspy.LM(
    "azure/o3-mini",
    api_base=url,
    api_key="x",
    api_version="2024-12-01-preview",
    temperature=1.0,
    max_tokens=16000,
    cache=False,
    num_retries=0,
)
dspy.configure(lm=lm)


class QA(dspy.Signature):
    """Answer questions with short factoid answers."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    confidence: float = dspy.OutputField()


def search(query: str) -> str:
    """Search the web for the query."""
    return "Paris is the capital of France."


step = os.environ.get("STEP", "all")
if step in ("predict", "all"):
    print("PREDICT", dspy.Predict("question -> answer")(question="What is the capital of France?"))
if step in ("cot", "all"):
    print("COT", dspy.ChainOfThought(QA)(question="What is the capital of France?"))
if step in ("react", "all"):
    print(
        "REACT",
        dspy.ReAct("question -> answer", tools=[search], max_iters=5)(
            question="What is the capital of France?"
        ),
    )
if step in ("react-json", "all"):
    # The same agent with DSPy's JSONAdapter: json_object replies of the typed fields.
    with dspy.context(adapter=dspy.JSONAdapter()):
        print(
            "REACT-JSON",
            dspy.ReAct("question -> answer", tools=[search], max_iters=5)(
                question="What is the capital of France?"
            ),
        )
