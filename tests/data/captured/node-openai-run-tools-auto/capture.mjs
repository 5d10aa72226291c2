// Run by hand: MOCK_URL=<the URL mockserver serve printed> node capture.mjs, in a folder with the npm packages the README names.
process.env.CHOICE ??= 'auto';
import { AzureOpenAI } from 'openai';
const client = new AzureOpenAI({ endpoint: `${process.env.MOCK_URL}`, apiKey: 'k', apiVersion: '2025-01-01-preview', deployment: 'o3-mini' });
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Get the current weather for a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const choice = process.env.CHOICE || 'auto';
const runner = client.chat.completions.runTools({ model: 'o3-mini', tool_choice: choice, messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get the current weather for a city.', parse: JSON.parse,
    function: async ({ city }) => ({ city, sky: 'clear', temperature: 21 }),
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }] }, { maxChatCompletions: 8 });
try {
  const content = await runner.finalContent();
  const n = (await runner.allChatCompletions()).length;
  console.log(choice, 'completions', n, 'final', JSON.stringify((content || '').slice(0, 90)));
} catch (e) { console.log(choice, 'ERROR', e.message); }
