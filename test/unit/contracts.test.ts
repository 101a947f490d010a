/** The in-memory fakes against the contracts their DynamoDB adapters pass (test/integration/contracts.test.ts). */
import { deliveryTargetsContract } from '../contracts/delivery-targets.ts';
import { messageStoreContract } from '../contracts/message-store.ts';
import { FakeDeliveryTargets, FakeMessages, FakePresence } from './fakes.ts';

messageStoreContract('FakeMessages', () => new FakeMessages());

deliveryTargetsContract('FakeDeliveryTargets', async () => {
  const presence = new FakePresence();
  const targets = new FakeDeliveryTargets(presence);
  return {
    targets,
    addUser: async (userId) => {
      targets.users.add(userId);
    },
    connect: (userId, connectionId, expiresAt) =>
      presence.addConnection(userId, connectionId, new Date(), expiresAt),
    block: async (blocker, blocked) => {
      targets.blocks.add(`${blocker}>${blocked}`);
    },
  };
});
