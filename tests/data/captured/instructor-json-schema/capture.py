import os

import instructor

os.environ.setdefault("MODE", "JSON_SCHEMA")
from openai import AzureOpenAI
from pydantic import BaseModel


class Person(BaseModel):
    name: str
    age: int


class People(BaseModel):
    people: list[Person]


MOCK_URL = os.environ["MOCK_URL"]
mode = getattr(instructor.Mode, os.environ.get("MODE", "TOOLS"))
client = instructor.from_openai(
    AzureOpenAI(
        azure_endpoint=f"{MOCK_URL}", api_key="k", api_version="2025-01-01-preview", max_retries=0
    ),
    mode=mode,
)
result = client.chat.completions.create(
    model="o3-mini",
    response_model=People,
    max_retries=2,
    messages=[
        {
            "role": "user",
            "content": "Extract the people: Alice Martin is 31 years old"
            " and her brother Bob Martin is 27.",
        }
    ],
)
print(mode, result)
