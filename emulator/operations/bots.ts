/** AppInstanceBots: create (idempotent), describe, list, update, delete (which also ends its admin role). */
import { randomUUID } from 'node:crypto';
import type { AppInstanceBot } from '@aws-sdk/client-chime-sdk-identity';
import { insertSorted, pageOf, removeSorted } from '../pagination';
import { type BotRecord, mergeTags } from '../records';
import { type Operations, pageRequest, seconds } from './common';
import type { Wire } from './types';

/** The summary a list gives, or with `full` everything Describe gives. */
function botOutput(bot: BotRecord, full: boolean): Wire<AppInstanceBot> {
  const out: Wire<AppInstanceBot> = { AppInstanceBotArn: bot.arn };
  if (bot.name !== undefined) out.Name = bot.name;
  if (bot.metadata !== undefined) out.Metadata = bot.metadata;
  if (full) {
    out.Configuration = bot.configuration;
    out.CreatedTimestamp = seconds(bot.createdMs);
    out.LastUpdatedTimestamp = seconds(bot.updatedMs);
  }
  return out;
}

export const BOT_OPERATIONS: Operations<
  | 'CreateAppInstanceBot'
  | 'DescribeAppInstanceBot'
  | 'ListAppInstanceBots'
  | 'UpdateAppInstanceBot'
  | 'DeleteAppInstanceBot'
> = {
  CreateAppInstanceBot: (store, input) =>
    store.idempotent('CreateAppInstanceBot', input, () => {
      const app = store.requireAppInstance(input.AppInstanceArn);
      const botId = randomUUID();
      const created = store.now();
      const bot: BotRecord = {
        arn: `${app.arn}/bot/${botId}`,
        botId,
        name: input.Name,
        metadata: input.Metadata,
        configuration: input.Configuration,
        createdMs: created,
        updatedMs: created,
        tags: mergeTags([], input.Tags ?? []),
      };
      app.bots.set(botId, bot);
      insertSorted(app.botIds, botId);
      return { AppInstanceBotArn: bot.arn };
    }),
  DescribeAppInstanceBot: (store, input) => ({
    AppInstanceBot: botOutput(store.requireBot(input.AppInstanceBotArn).bot, true),
  }),
  ListAppInstanceBots: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    const { maxResults, nextToken } = pageRequest(input);
    const page = pageOf(app.botIds, `ListAppInstanceBots ${app.arn}`, maxResults, nextToken, (id) => {
      const bot = app.bots.get(id);
      return bot && botOutput(bot, false);
    });
    return { AppInstanceArn: app.arn, AppInstanceBots: page.items, NextToken: page.nextToken };
  },
  UpdateAppInstanceBot: (store, input) => {
    const { bot } = store.requireBot(input.AppInstanceBotArn);
    bot.name = input.Name;
    bot.metadata = input.Metadata;
    if (input.Configuration !== undefined) bot.configuration = input.Configuration;
    bot.updatedMs = store.now();
    return { AppInstanceBotArn: bot.arn };
  },
  DeleteAppInstanceBot: (store, input) => {
    const { app, bot } = store.requireBot(input.AppInstanceBotArn);
    app.bots.delete(bot.botId);
    removeSorted(app.botIds, bot.botId);
    if (app.admins.delete(bot.arn)) removeSorted(app.adminArns, bot.arn);
    return undefined;
  },
};
