// Run by hand: MOCK_URL=<the URL mockserver serve printed> node capture.mjs, in a folder with the npm packages the README names.
import { AzureChatOpenAI } from '@langchain/openai';
import { tool } from '@langchain/core/tools';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { z } from 'zod';
const weather = tool(async ({ city }) => `The sky over ${city} is clear, 21 C.`, { name: 'get_weather', description: 'Get the current weather for a city.', schema: z.object({ city: z.string() }) });
const llm = new AzureChatOpenAI({ azureOpenAIEndpoint: `${process.env.MOCK_URL}`, azureOpenAIApiKey: 'k', azureOpenAIApiDeploymentName: 'o3-mini', azureOpenAIApiVersion: '2025-01-01-preview', maxRetries: 0 });
const agent = createReactAgent({ llm, tools: [weather] });
try {
  const r = await agent.invoke({ messages: [{ role: 'user', content: 'What is the weather in Paris?' }] }, { recursionLimit: 12 });
  console.log('messages', r.messages.length, r.messages.map(m => m.getType()).join(','), JSON.stringify(String(r.messages.at(-1).content).slice(0, 90)));
} catch (e) { console.log('ERROR', e.message); }
