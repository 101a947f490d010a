/**
 * Parley's reference web app: sign up with the e-mailed code, log in, the conversation list
 * with unread counts, a chat with live messages, replies and read receipts, and the
 * connection's state. Built on the client package (client/; an app of its own imports
 * `@parley/client` instead) and Preact with htm, so it needs no build step of its own beyond Vite.
 *
 * It keeps no secret: the access and refresh tokens of the signed-in user live in this tab's
 * sessionStorage, and the page talks to the HTTP API through `/auth/*` on its own origin.
 */
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type ConnectionState,
  type ConversationSummary,
  type Message,
  ParleySession,
  type StoryGroup,
  type TokenRequest,
} from '../../client/index.ts';
import { type Auth, clearAuth, HttpError, loadAuth, post, saveAuth } from './auth.ts';
import { NotificationsControl } from './notifications.ts';
import { disablePush, onNotificationClick, registerServiceWorker } from './push.ts';

declare const __PARLEY_WS_URL__: string;

const html = htm.bind(h);

function AuthScreen({ onAuth }: { onAuth: (auth: Auth) => void }) {
  const [mode, setMode] = useState<'login' | 'signup' | 'verify'>('login');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [email, setEmail] = useState('');
  const submit = (action: () => Promise<void>) => async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await action();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const field = (form: HTMLFormElement, name: string) =>
    (form.elements.namedItem(name) as HTMLInputElement).value;
  const login = submit(async () => {
    const form = document.querySelector('form.auth') as HTMLFormElement;
    onAuth(await post<Auth>('login', { email: field(form, 'email'), password: field(form, 'password') }));
  });
  const signup = submit(async () => {
    const form = document.querySelector('form.auth') as HTMLFormElement;
    await post('register', {
      email: field(form, 'email'),
      password: field(form, 'password'),
      name: field(form, 'name'),
      username: field(form, 'username'),
    });
    setEmail(field(form, 'email'));
    setMode('verify');
  });
  const verify = submit(async () => {
    const form = document.querySelector('form.auth') as HTMLFormElement;
    onAuth(await post<Auth>('verify', { email, code: field(form, 'code') }));
  });
  const errorLine = error ? html`<p class="error" role="alert">${error}</p>` : null;
  if (mode === 'verify') {
    return html`<form class="auth" onSubmit=${verify} aria-labelledby="auth-title">
      <h2 id="auth-title">Enter your code</h2>
      <p>We e-mailed a code to ${email}.</p>
      <label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required /></label>
      ${errorLine}
      <button class="primary" disabled=${busy}>Verify</button>
    </form>`;
  }
  const signingUp = mode === 'signup';
  return html`<form class="auth" onSubmit=${signingUp ? signup : login} aria-labelledby="auth-title">
    <h2 id="auth-title">${signingUp ? 'Create an account' : 'Log in'}</h2>
    <label>E-mail <input name="email" type="email" autocomplete="email" required /></label>
    <label>Password <input name="password" type="password" minlength=${signingUp ? 8 : 1}
      autocomplete=${signingUp ? 'new-password' : 'current-password'} required /></label>
    ${
      signingUp &&
      html`<label>Name <input name="name" autocomplete="name" required /></label>
        <label>Username <input name="username" autocomplete="username" required /></label>`
    }
    ${errorLine}
    <button class="primary" disabled=${busy}>${signingUp ? 'Sign up' : 'Log in'}</button>
    <button type="button" onClick=${() => setMode(signingUp ? 'login' : 'signup')}>
      ${signingUp ? 'I have an account' : 'Create an account'}
    </button>
  </form>`;
}

/** The session's token provider: the login's token first, then fresh ones from the refresh token. */
function tokenProvider(auth: Auth, onLost: () => void) {
  return async ({ reason }: TokenRequest): Promise<string> => {
    if (reason === 'initial') return auth.token;
    try {
      const fresh = await post<{ token: string; refreshToken: string }>('refresh', {
        refreshToken: auth.refreshToken,
      });
      auth.token = fresh.token;
      auth.refreshToken = fresh.refreshToken;
      saveAuth(auth);
      return fresh.token;
    } catch (error) {
      // A refresh token the server refuses: log in again. A network failure: the session retries.
      if (error instanceof HttpError && error.status === 401) onLost();
      throw error;
    }
  };
}

/**
 * Inline images travel in the frame: the server takes data URLs of up to 24 KB, and 28 KB of text
 * and image together (docs/protocol.md), which 17 KB of image become in base64.
 */
const MAX_IMAGE_BYTES = 17 * 1024;

/** Reads an image file as a data URL, or throws when it is too large to send inline. */
function readImage(file: File): Promise<string> {
  if (file.size > MAX_IMAGE_BYTES) {
    return Promise.reject(
      new Error(`Images up to 17 KB can be sent (this one is ${Math.ceil(file.size / 1024)} KB)`),
    );
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error('The image could not be read'));
    reader.readAsDataURL(file);
  });
}

const imageSource = (image: string) =>
  /^(data:|https?:)/.test(image) ? image : `data:image/png;base64,${image}`;

const byId = (a: Message, b: Message) => (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function Messenger({ auth, onLogout }: { auth: Auth; onLogout: () => void }) {
  const me = auth.user.userId;
  const [state, setState] = useState<ConnectionState>('connecting');
  const [conversations, setConversations] = useState<ConversationSummary[]>([]);
  const [selected, setSelected] = useState<ConversationSummary | undefined>();
  const [messages, setMessages] = useState<Record<string, Message[]>>({});
  const [names, setNames] = useState<Record<string, string>>({});
  const [replyTo, setReplyTo] = useState<Message | undefined>();
  const [notice, setNotice] = useState('');
  const [stories, setStories] = useState<StoryGroup[]>([]);
  const [story, setStory] = useState<{ ownerId: string; image: string; caption?: string } | undefined>();
  const [random, setRandom] = useState<'idle' | 'waiting' | 'matched'>('idle');
  /** Who is typing, per conversation, until when. */
  const [typing, setTyping] = useState<Record<string, { userId: string; until: number }>>({});
  const lastTypingSent = useRef(0);
  const selectedRef = useRef<ConversationSummary | undefined>(undefined);
  selectedRef.current = selected;
  const conversationsRef = useRef<ConversationSummary[]>([]);
  conversationsRef.current = conversations;
  const session = useMemo(
    () => ParleySession.start({ url: __PARLEY_WS_URL__, token: tokenProvider(auth, onLogout) }),
    [auth, onLogout],
  );

  const refreshList = useMemo(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        session.request('getConversations', {}).then(
          ({ conversations: list }) => setConversations(list),
          () => {},
        );
      }, 200);
    };
  }, [session]);

  const add = (list: readonly Message[]) =>
    setMessages((current) => {
      const next = { ...current };
      for (const message of list) {
        const known = next[message.conversationId] ?? [];
        const others = known.filter((m) => m.messageId !== message.messageId);
        next[message.conversationId] = [...others, message].sort(byId);
      }
      return next;
    });

  const markRead = (conversation: ConversationSummary, list: readonly Message[]) => {
    const last = [...list].reverse().find((m) => m.from !== me);
    if (last === undefined || last.readAt !== undefined) return;
    session
      .request('markRead', { conversationId: conversation.conversationId, upTo: last.messageId })
      .then(refreshList, () => {});
  };

  useEffect(() => {
    session.on('state', ({ state: next }) => setState(next));
    session.on('conversations', ({ conversations: list }) => setConversations(list));
    session.on('message', ({ message }) => {
      add([message]);
      const open = selectedRef.current;
      if (open?.conversationId === message.conversationId && message.from !== me) markRead(open, [message]);
      refreshList();
    });
    session.on('messagesRead', (event) => {
      setMessages((current) => {
        const conversationId = event.conversationId;
        const next = { ...current };
        for (const [id, list] of Object.entries(next)) {
          if (conversationId !== undefined && id !== conversationId) continue;
          next[id] = list.map((m) =>
            m.from === me &&
            m.readAt === undefined &&
            (event.messageIds?.includes(m.messageId) ||
              (event.upTo !== undefined && m.messageId <= event.upTo))
              ? { ...m, readAt: event.readAt }
              : m,
          );
        }
        return next;
      });
    });
    session.on('typing', ({ conversationId, userId }) => {
      setTyping((current) => ({ ...current, [conversationId]: { userId, until: Date.now() + 5000 } }));
      setTimeout(() => setTyping((current) => ({ ...current })), 5100);
    });
    session.on('conversationAdded', refreshList);
    session.on('randomMatched', ({ partnerId }) => {
      setRandom('matched');
      const conversationId = [me, partnerId].sort().join('#');
      void open({
        conversationId,
        kind: 'direct',
        peerId: partnerId,
        unreadCount: 0,
        updatedAt: new Date().toISOString(),
      });
    });
    session.on('randomEnded', () => {
      setRandom('idle');
      setNotice('The random chat ended.');
    });
    session.on('resumed', () => {
      session.request('getFollowingStories', {}).then(
        ({ stories: list }) => setStories(list),
        () => {},
      );
    });
    return () => void session.close();
  }, [session]);

  // The service worker shows push notifications; a click on one opens its conversation, in this
  // window (a message from the worker) or in a new one (`?conversation=`, read once here).
  useEffect(() => {
    void registerServiceWorker();
    const fromUrl = new URL(location.href).searchParams.get('conversation');
    if (fromUrl !== null) {
      history.replaceState(null, '', location.pathname);
      void openById(fromUrl);
    }
    return onNotificationClick((conversationId) => void openById(conversationId));
  }, [session]);

  // Names for the people in the list and in the open chat.
  const openList = selected ? messages[selected.conversationId] : undefined;
  useEffect(() => {
    const people = new Set([
      ...conversations.flatMap((c) => (c.peerId === undefined ? [] : [c.peerId])),
      ...(openList ?? []).map((m) => m.from),
    ]);
    for (const peer of people) {
      if (peer === me || names[peer] !== undefined) continue;
      setNames((current) => ({ ...current, [peer]: peer }));
      session.request('getProfile', { userId: peer }).then(
        (profile) => setNames((current) => ({ ...current, [peer]: profile.name })),
        () => {},
      );
    }
  }, [conversations, openList]);

  const open = async (conversation: ConversationSummary) => {
    setSelected(conversation);
    setReplyTo(undefined);
    try {
      const page = await session.request('getHistory', {
        conversationId: conversation.conversationId,
        limit: 50,
      });
      add(page.messages);
      markRead(conversation, [...page.messages].sort(byId));
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  /** Opens a conversation known only by its id (from a notification). */
  const openById = async (conversationId: string) => {
    const known = conversationsRef.current.find((c) => c.conversationId === conversationId);
    if (known !== undefined) return open(known);
    const peers = conversationId.split('#');
    if (peers.length === 2 && peers.includes(me)) {
      const peerId = peers.find((p) => p !== me) ?? me;
      const summary = { conversationId, kind: 'direct' as const, peerId, unreadCount: 0 };
      return open({ ...summary, updatedAt: new Date().toISOString() });
    }
    try {
      const { conversation } = await session.request('getGroup', { conversationId });
      await open({ ...conversation, unreadCount: 0, updatedAt: conversation.createdAt });
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  /** Logging out unregisters this browser's push target first, so no notification follows. */
  const logOut = async () => {
    await disablePush(session, me).catch(() => {});
    onLogout();
  };

  const startChat = async (event: Event) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('username') as HTMLInputElement;
    setNotice('');
    try {
      const { user } = await session.request('findUser', { username: input.value });
      input.value = '';
      const conversationId = [me, user.userId].sort().join('#');
      setNames((current) => ({ ...current, [user.userId]: user.name }));
      const known = conversations.find((c) => c.conversationId === conversationId);
      await open(
        known ?? {
          conversationId,
          kind: 'direct',
          peerId: user.userId,
          unreadCount: 0,
          updatedAt: new Date().toISOString(),
        },
      );
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const send = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('text') as HTMLInputElement;
    const text = input.value.trim();
    if (!text || selected === undefined) return;
    input.value = '';
    const target =
      selected.kind === 'direct' && selected.peerId !== undefined
        ? { to: selected.peerId }
        : { conversationId: selected.conversationId };
    const quoted = replyTo;
    setReplyTo(undefined);
    try {
      // Queued while offline; sent once with its clientMessageId when the socket is back.
      const { message } = await session.sendMessage({
        ...target,
        content: { text },
        ...(quoted ? { replyTo: quoted.messageId } : {}),
      });
      add([message]);
      refreshList();
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  /** Tells the others at most every 3 seconds while the user types (one-way, nothing stored). */
  const typed = () => {
    if (selected === undefined || Date.now() - lastTypingSent.current < 3000) return;
    lastTypingSent.current = Date.now();
    session.send('typing', { conversationId: selected.conversationId });
  };

  const createGroup = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const title = (form.elements.namedItem('title') as HTMLInputElement).value.trim();
    const usernames = (form.elements.namedItem('members') as HTMLInputElement).value
      .split(/[\s,]+/)
      .filter((name) => name.length > 0);
    setNotice('');
    try {
      const members = await Promise.all(
        usernames.map((username) => session.request('findUser', { username })),
      );
      const { conversation } = await session.request('createGroup', {
        title,
        memberIds: members.map(({ user }) => user.userId),
      });
      form.reset();
      for (const { user } of members) setNames((current) => ({ ...current, [user.userId]: user.name }));
      refreshList();
      await open({
        conversationId: conversation.conversationId,
        kind: 'group',
        title: conversation.title,
        memberCount: conversation.memberCount,
        unreadCount: 0,
        updatedAt: conversation.createdAt,
      });
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const sendImage = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file === undefined || selected === undefined) return;
    try {
      const image = await readImage(file);
      const target =
        selected.kind === 'direct' && selected.peerId !== undefined
          ? { to: selected.peerId }
          : { conversationId: selected.conversationId };
      const { message } = await session.sendMessage({ ...target, content: { image } });
      add([message]);
      refreshList();
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const postStory = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file === undefined) return;
    try {
      await session.request('postStory', { image: await readImage(file) });
      setNotice('Your story is posted for a day.');
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const showStory = async (group: StoryGroup) => {
    const item = group.items[0];
    if (item === undefined) return;
    try {
      const photo = await session.request('getStoryPhoto', { ownerId: group.ownerId, storyId: item.storyId });
      setStory({
        ownerId: group.ownerId,
        // An inline story has its image; a media story a download URL (docs/protocol.md, getStoryPhoto).
        image: photo.image ?? photo.url ?? '',
        ...(item.caption ? { caption: item.caption } : {}),
      });
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const toggleRandom = async () => {
    setNotice('');
    try {
      if (random === 'idle') {
        const answer = await session.request('joinRandom', {});
        // A match also arrives as randomMatched, which opens the chat.
        setRandom((current) => (current === 'matched' ? current : answer.status));
      } else {
        await session.request('leaveRandom', {});
        setRandom('idle');
      }
    } catch (error) {
      setNotice((error as Error).message);
    }
  };

  const titleOf = (c: ConversationSummary) =>
    c.title ?? (c.peerId !== undefined ? (names[c.peerId] ?? c.peerId) : c.conversationId);
  const list = selected ? (messages[selected.conversationId] ?? []) : [];
  const find = (id: string) => list.find((m) => m.messageId === id);

  return html`
    <header class="bar">
      <h1>Parley</h1>
      <span class="state" data-state=${state} role="status" aria-live="polite" data-testid="connection-state">${state}</span>
      <span class="who">${auth.user.name}</span>
      <${NotificationsControl} session=${session} userId=${me} />
      <button onClick=${logOut}>Log out</button>
    </header>
    <main class="layout" data-open=${selected !== undefined}>
      <nav class="sidebar" aria-label="Conversations">
        <form onSubmit=${startChat} aria-label="New chat">
          <label class="sr-only" for="new-chat">Username</label>
          <input id="new-chat" name="username" placeholder="Chat with username…" required />
          <button>Start</button>
        </form>
        <details class="group-form">
          <summary>New group</summary>
          <form onSubmit=${createGroup} aria-label="New group">
            <label>Title <input name="title" required maxlength="100" /></label>
            <label>Members (usernames) <input name="members" required /></label>
            <button>Create</button>
          </form>
        </details>
        <div class="tools">
          <button onClick=${toggleRandom} aria-pressed=${random !== 'idle'}>
            ${random === 'idle' ? 'Random chat' : random === 'waiting' ? 'Waiting for a stranger… (leave)' : 'Leave random chat'}
          </button>
          <label class="file">Post a story<input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange=${postStory} /></label>
        </div>
        ${
          stories.length > 0 &&
          html`<ul class="stories" aria-label="Stories">
            ${stories.map(
              (group) => html`<li key=${group.ownerId}>
                <button onClick=${() => showStory(group)} data-testid="story">${names[group.ownerId] ?? group.ownerId}</button>
              </li>`,
            )}
          </ul>`
        }
        ${notice && html`<p class="notice" role="alert">${notice}</p>`}
        <ul class="conversations">
          ${conversations.map(
            (c) => html`<li key=${c.conversationId}>
              <button aria-current=${selected?.conversationId === c.conversationId} onClick=${() => open(c)}
                data-testid="conversation">
                <strong>${titleOf(c)}</strong>
                ${c.unreadCount > 0 && html`<span class="unread" aria-label=${`${c.unreadCount} unread`}>${c.unreadCount}</span>`}
                <span class="preview">${c.lastMessage?.preview ?? ''}</span>
              </button>
            </li>`,
          )}
        </ul>
      </nav>
      <section class="chat" aria-label="Chat">
        ${
          story &&
          html`<figure class="story" role="dialog" aria-label=${`Story of ${names[story.ownerId] ?? story.ownerId}`}>
            <img src=${imageSource(story.image)} alt=${story.caption ?? 'A story'} />
            ${story.caption && html`<figcaption>${story.caption}</figcaption>`}
            <button onClick=${() => setStory(undefined)}>Close</button>
          </figure>`
        }
        ${
          selected === undefined
            ? html`<p class="empty">Choose a conversation, or start one by username.</p>`
            : html`
              <header class="bar">
                <button onClick=${() => setSelected(undefined)} aria-label="Back to conversations">←</button>
                <h2>${titleOf(selected)}</h2>
                ${(() => {
                  const who = typing[selected.conversationId];
                  return (
                    who !== undefined &&
                    who.until > Date.now() &&
                    html`<span class="typing" data-testid="typing">${names[who.userId] ?? who.userId} is typing…</span>`
                  );
                })()}
              </header>
              <ol class="messages" aria-live="polite" data-testid="messages">
                ${list.map((m) => {
                  const quoted = m.replyTo ? find(m.replyTo) : undefined;
                  return html`<li key=${m.messageId} class=${m.from === me ? 'mine' : ''} data-testid="message">
                    ${selected.kind === 'group' && m.from !== me && html`<div class="from">${names[m.from] ?? m.from}</div>`}
                    ${m.replyTo && html`<div class="quote">${quoted?.content?.text ?? 'an earlier message'}</div>`}
                    ${m.content?.image && html`<img src=${imageSource(m.content.image)} alt="An image" data-testid="image" />`}
                    ${m.content === undefined ? html`<div class="text"><em>deleted</em></div>` : m.content.text !== undefined && html`<div class="text">${m.content.text}</div>`}
                    <div class="meta">
                      <time datetime=${m.sentAt}>${time(m.sentAt)}</time>
                      ${m.from === me && html`<span data-testid="receipt">${m.readAt ? 'Read' : 'Sent'}</span>`}
                      <button onClick=${() => setReplyTo(m)} aria-label="Reply">Reply</button>
                    </div>
                  </li>`;
                })}
              </ol>
              <form class="composer" onSubmit=${send} aria-label="Send a message">
                ${
                  replyTo &&
                  html`<span class="quote">Replying to ${replyTo.content?.text ?? ''}
                    <button type="button" onClick=${() => setReplyTo(undefined)} aria-label="Cancel reply">×</button></span>`
                }
                <label class="sr-only" for="composer">Message</label>
                <input id="composer" name="text" autocomplete="off" placeholder="Message" onInput=${typed} />
                <label class="file">Image<input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange=${sendImage} /></label>
                <button class="primary">Send</button>
              </form>`
        }
      </section>
    </main>`;
}

function App() {
  const [auth, setAuth] = useState<Auth | undefined>(loadAuth());
  const logout = useMemo(
    () => () => {
      const token = auth?.token;
      clearAuth();
      setAuth(undefined);
      if (token) void post('logout', {}, token).catch(() => {});
    },
    [auth],
  );
  if (auth === undefined) {
    return html`<${AuthScreen}
      onAuth=${(next: Auth) => {
        saveAuth(next);
        setAuth(next);
      }}
    />`;
  }
  return html`<${Messenger} auth=${auth} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement);
