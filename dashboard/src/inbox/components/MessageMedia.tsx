/**
 * A message's file, shown the way WhatsApp shows it: images and stickers as a thumbnail that opens
 * the full picture, voice notes and audio in a player, video in a player, documents as a download.
 * The file comes from the API's tenant-checked media route (Range, so players can seek). While it
 * is still being fetched from WhatsApp, or when WhatsApp no longer has it, the bubble says so.
 */
import type { Message } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import { formatBytes } from "../utils/attachments";

export function MessageMedia({ message }: { message: Message }) {
  const { t } = useI18n();
  const { kind, media, mediaUrl, mediaStatus } = message;
  const fileName = media?.fileName ?? t(`inbox.media.kind.${kindKey(kind)}`);
  const size = message.mediaSizeBytes ?? media?.sizeBytes;

  if (!mediaUrl) {
    const key =
      mediaStatus === "pending"
        ? "inbox.media.pending"
        : mediaStatus === "expired"
          ? "inbox.media.expired"
          : "inbox.media.unavailable";
    return (
      <p className="media-missing muted" data-testid="media-missing" data-media-status={mediaStatus ?? "none"}>
        {t(`inbox.media.kind.${kindKey(kind)}`)} · {t(key)}
      </p>
    );
  }

  switch (kind) {
    case "image":
    case "sticker":
      return (
        <a href={mediaUrl} target="_blank" rel="noreferrer" className="media-thumb-link" title={t("inbox.media.open")}>
          <img
            className={kind === "sticker" ? "media-sticker" : "media-thumb"}
            src={mediaUrl}
            alt={message.text ?? t(`inbox.media.kind.${kind}`)}
            loading="lazy"
            data-testid="media-image"
          />
        </a>
      );
    case "audio":
      return (
        <div className="media-audio">
          <span className="muted">{media?.voiceNote ? t("inbox.media.voiceNote") : t("inbox.media.kind.audio")}</span>
          {/* biome-ignore lint/a11y/useMediaCaption: a customer's voice note has no captions to offer */}
          <audio controls preload="metadata" src={mediaUrl} data-testid="media-audio" />
        </div>
      );
    case "video":
      return (
        // biome-ignore lint/a11y/useMediaCaption: a customer's video has no captions to offer
        <video className="media-video" controls preload="metadata" src={mediaUrl} data-testid="media-video" />
      );
    default:
      return (
        <a className="media-document" href={`${mediaUrl}?download=1`} download={fileName} data-testid="media-document">
          <span aria-hidden="true">📄</span>
          <span className="media-document-name">{fileName}</span>
          {size !== undefined && <span className="muted">{formatBytes(size)}</span>}
          <span className="visually-hidden">{t("inbox.media.download")}</span>
        </a>
      );
  }
}

type KindKey = "image" | "sticker" | "audio" | "video" | "document";

function kindKey(kind: string): KindKey {
  return kind === "image" || kind === "sticker" || kind === "audio" || kind === "video" ? kind : "document";
}

/** Whether a message carries a file to show (its text is then a caption). */
export function hasMedia(message: Message): boolean {
  return message.mediaStatus !== null || ["image", "sticker", "audio", "video", "document"].includes(message.kind);
}
