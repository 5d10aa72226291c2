import asyncio
import os

os.environ.setdefault("MODE", "auto")
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai.function_choice_behavior import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import (
    AzureChatCompletion,
    AzureChatPromptExecutionSettings,
)
from semantic_kernel.contents import ChatHistory
from semantic_kernel.functions import kernel_function


class Weather:
    @kernel_function(name="get_weather", description="Get the current weather for a city.")
    def get_weather(self, city: str) -> str:
        return f"The sky over {city} is clear, 21 C."


async def main():
    mock_url = os.environ["MOCK_URL"]
    kernel = Kernel()
    from openai import AsyncAzureOpenAI

    client = AsyncAzureOpenAI(
        azure_endpoint=f"{mock_url}", api_key="k", api_version="2025-01-01-preview"
    )
    service = AzureChatCompletion(deployment_name="o3-mini", async_client=client)
    kernel.add_service(service)
    kernel.add_plugin(Weather(), "weather")
    for mode in [os.environ["MODE"]]:
        behavior = (
            FunctionChoiceBehavior.Auto() if mode == "auto" else FunctionChoiceBehavior.Required()
        )
        settings = AzureChatPromptExecutionSettings(function_choice_behavior=behavior)
        history = ChatHistory()
        history.add_user_message("What is the weather in Paris?")
        result = await service.get_chat_message_content(history, settings, kernel=kernel)
        print(mode, "->", str(result)[:150].replace("\n", " "), "| history", len(history.messages))


asyncio.run(main())
