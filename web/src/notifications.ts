/**
 * The header's "Notifications" control: turns push notifications on and off for this browser
 * (web/src/push.ts) and says in one line what state they are in, or why the browser refuses.
 */
import htm from 'htm';
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ParleySession } from '../../client/index.ts';
import { currentPushSetting, disablePush, enablePush, type PushSetting, pushUnsupported } from './push.ts';

const html = htm.bind(h);

export function NotificationsControl({ session, userId }: { session: ParleySession; userId: string }) {
  const unsupported = pushUnsupported();
  const [setting, setSetting] = useState<PushSetting | undefined>();
  const [previews, setPreviews] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(unsupported ?? '');

  useEffect(() => {
    currentPushSetting(userId).then(
      (current) => {
        setSetting(current);
        if (current !== undefined) setPreviews(current.previews);
      },
      () => {},
    );
  }, [userId]);

  const turnOn = async (withPreviews: boolean) => {
    setBusy(true);
    setProblem('');
    try {
      setSetting(await enablePush(session, userId, withPreviews));
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const turnOff = async () => {
    setBusy(true);
    setProblem('');
    setSetting(undefined);
    try {
      await disablePush(session, userId);
    } catch (error) {
      setProblem(`Notifications are off here, but the server was not told: ${(error as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const choosePreviews = (event: Event) => {
    const checked = (event.currentTarget as HTMLInputElement).checked;
    setPreviews(checked);
    // Registering the same subscription again replaces its target with the new choice.
    if (setting !== undefined) void turnOn(checked);
  };

  const line =
    problem ||
    (busy
      ? 'Setting up notifications…'
      : setting === undefined
        ? 'Notifications are off.'
        : `Notifications are on for this browser${setting.previews ? ', with message text' : ''}.`);
  return html`<details class="notifications">
    <summary>Notifications</summary>
    <div class="panel">
      <p role="status" data-testid="push-state">${line}</p>
      <label><input type="checkbox" checked=${previews} disabled=${busy || unsupported !== undefined}
        onChange=${choosePreviews} /> Show message text in notifications</label>
      <button disabled=${busy || unsupported !== undefined}
        onClick=${() => (setting === undefined ? turnOn(previews) : turnOff())}>
        ${setting === undefined ? 'Turn on notifications' : 'Turn off notifications'}
      </button>
    </div>
  </details>`;
}
