/**
 * The ways tools make users, outside the sign-up flow: `seedVerifiedUser` (the demo users of
 * `npm start`: real accounts with a password) and `createUser` (test and bench users that sign
 * their own tokens). No function uses this module; it is apart from adapters/account-snapshot.ts so
 * that the authorizer does not bundle the sign-up domain. People sign up through /auth/register.
 */
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type SeedUser, seedVerifiedUser } from '../domain/accounts.ts';
import type { ScryptParams } from '../domain/passwords.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { accountKeys, DynamoAccountStore } from './account-store.ts';
import { isAwsError } from './dynamo.ts';
import { PresenceItems } from './presence-item.ts';

export interface NewUser {
  readonly userId: string;
  readonly name: string;
  readonly username: string;
  readonly family?: string;
}

export class DynamoUserSeeder {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly usersTable: string = requireEnv(tables.users.envVar),
    private readonly presence: PresenceItems = new PresenceItems(requireEnv(tables.presence.envVar)),
  ) {}

  /**
   * Creates a confirmed account without e-mail or password (it cannot log in; its tokens are
   * signed by the caller), its username guard and its presence item, in one transaction; an
   * existing user is left as it is.
   */
  async createUser(user: NewUser, now: Date = new Date()): Promise<void> {
    const username = user.username.toLowerCase();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.usersTable,
                Item: {
                  pk: user.userId,
                  ...user,
                  username,
                  registeredAt: now.toISOString(),
                  emailConfirmedAt: now.toISOString(),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.usersTable,
                Item: { pk: accountKeys.usernameGuard(username), userId: user.userId },
                ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
                ExpressionAttributeValues: { ':userId': user.userId },
              },
            },
            this.presence.create(user.userId),
          ],
        }),
      );
    } catch (error) {
      if (isAwsError(error, 'TransactionCanceledException')) return;
      throw error;
    }
  }

  /**
   * Creates a verified account with a known password (the demo users of `npm start`), by the
   * sign-up rules; an existing account with this id is left as it is.
   * @param passwordParams scrypt parameters, @default the production ones
   */
  seedVerifiedUser(
    user: SeedUser,
    now: Date = new Date(),
    passwordParams?: ScryptParams,
  ): Promise<'created' | 'exists'> {
    const accounts = new DynamoAccountStore(this.client, this.usersTable, this.presence);
    return seedVerifiedUser({ accounts, passwordParams }, user, now);
  }
}
