// Run by hand: MOCK_URL=<the URL mockserver serve printed> node capture.mjs, in a folder with the npm packages the README names.
process.env.API ??= 'chat';
import { createAzure } from '@ai-sdk/azure';
import { generateText, tool, stepCountIs } from 'ai';
import { z } from 'zod';
const azure = createAzure({ baseURL: `${process.env.MOCK_URL}/openai/v1`, apiKey: 'k' });
const weather = tool({
  description: 'Get the current weather for a city.',
  inputSchema: z.object({ city: z.string().describe('The city') }),
  execute: async ({ city }) => ({ city, temperature: 21, sky: 'clear' }),
});
for (const api of [process.env.API]) {
  const model = api === 'chat' ? azure.chat('o3-mini') : azure('o3-mini');
  try {
    const r = await generateText({ model, tools: { weather }, stopWhen: stepCountIs(8),
      prompt: 'What is the weather in Paris?' });
    console.log(api, 'steps', r.steps.length, 'finish', r.finishReason, 'text', JSON.stringify(r.text.slice(0, 100)));
    for (const s of r.steps) console.log('  step', s.finishReason, s.toolCalls.map(c => c.toolName + JSON.stringify(c.input)).join(','));
  } catch (e) { console.log(api, 'ERROR', e.message, e.responseBody?.slice?.(0, 400)); }
}
