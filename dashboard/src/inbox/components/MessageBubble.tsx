/** One WhatsApp message in the thread: its media and text, when, and (ours) its delivery ticks. */
import type { Message } from "../../api/types";
import { hasMedia, MessageMedia } from "./MessageMedia";
import { Ticks } from "./Ticks";

export function MessageBubble(props: { message: Message; formatAt: (iso: string) => string; matched?: boolean }) {
  const m = props.message;
  const classes = ["bubble", m.fromMe ? "from-me" : "", props.matched ? "matched" : ""].filter(Boolean).join(" ");
  return (
    <li className={classes} data-kind={m.kind} data-message-id={m.id}>
      {hasMedia(m) ? (
        <>
          <MessageMedia message={m} />
          {m.text && <p dir="auto">{m.text}</p>}
        </>
      ) : (
        <p dir="auto">{m.text ?? `[${m.kind}]`}</p>
      )}
      <div className="bubble-meta">
        <time dateTime={m.sentAt}>{props.formatAt(m.sentAt)}</time>
        {m.fromMe && <Ticks status={m.status} />}
      </div>
    </li>
  );
}
