/**
 * Who may see an attached media (getMedia): a message's, the members of its conversation; a
 * story's, those who may see the story (its owner, followers with no block either way, until it
 * expires); a profile photo's, those who may see the profile (everyone its owner does not block).
 * Everyone else is told it does not exist.
 */
import { NotFoundError } from '../shared/errors.ts';
import { openConversation } from './conversation-access.ts';
import type { MediaAudience } from './media.ts';
import type { ConversationStore } from './ports.ts';
import { mayViewProfile, type ProfileStore } from './profiles.ts';
import { mayViewStoryMedia, type StoryFeed } from './stories.ts';

const CONVERSATION = 'conversation#';
const STORY = 'story#';
const PROFILE = 'profile#';

export function mediaAudience(deps: {
  readonly conversations: ConversationStore;
  readonly stories: StoryFeed;
  readonly profiles: Pick<ProfileStore, 'profile'>;
}): MediaAudience {
  return {
    async mayView(attachedTo, viewerId, now) {
      if (attachedTo.startsWith(STORY)) return mayViewStoryMedia(deps.stories, attachedTo, viewerId, now);
      if (attachedTo.startsWith(PROFILE)) {
        return mayViewProfile(deps.profiles, attachedTo.slice(PROFILE.length), viewerId, now);
      }
      if (!attachedTo.startsWith(CONVERSATION)) return false;
      try {
        // One read for a group; none for a direct conversation (its id names both users).
        await openConversation(deps, attachedTo.slice(CONVERSATION.length), viewerId);
        return true;
      } catch (error) {
        if (error instanceof NotFoundError) return false;
        throw error;
      }
    },
  };
}
