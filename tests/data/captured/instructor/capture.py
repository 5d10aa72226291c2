import os

import instructor
from openai import AzureOpenAI
from pydantic import BaseModel


class User(BaseModel):
    name: str
    age: int


raw = AzureOpenAI(
    azure_endpoint=os.environ["MOCK_URL"],
    api_key="x",
    api_version="2024-12-01-preview",
    max_retries=0,
)
for mode in (instructor.Mode.JSON, instructor.Mode.MD_JSON, instructor.Mode.JSON_SCHEMA):
    client = instructor.from_openai(raw, mode=mode)
    try:
        print(
            "RESULT",
            mode,
            client.chat.completions.create(
                model="o3-mini",
                response_model=User,
                max_retries=1,
                messages=[{"role": "user", "content": "Extract: Jason is 25 years old"}],
            ),
        )
    except Exception as e:
        print("FAILED", mode, type(e).__name__, str(e)[:300])
