// "My videos" (F-WEB-3): the signed-in user's cloud recordings, newest
// first — title, date, length, size and state — with a player above the
// list (`media_url` needs no bearer token, so a plain `<video>` plays it),
// download, rename and delete (after a confirmation).

import { askChoice, askText } from "./ask_dialog";
import { ApiRequestError, api } from "./api";
import { formatMeetingNumber, h, show } from "./dom";
import { exposeForInspection } from "./inspection";
import { localProfile } from "./local_profile";
import type { Recording, Session } from "./proto";
import { FILE_STATES, TITLE_CHARS, formatDuration, formatSize } from "./recordings";
import { browserTimeZone, formatInZone } from "./schedule_time";

export interface VideosPageHandlers {
  onMeetings: () => void;
  onHome: () => void;
}

const EMPTY_TEXT = "No videos yet. Recordings you make in your meetings appear here. 暂无视频。会议中的云录制会出现在这里。";

export function renderVideosPage(root: HTMLElement, handlers: VideosPageHandlers): void {
  exposeForInspection({ state: "videos" });
  const session = localProfile.session();
  const header = h(
    "header",
    { class: "landing-header" },
    h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
    h("button", { class: "link-button", type: "button", onclick: () => handlers.onHome() }, "Home 首页"),
  );
  if (!session) {
    show(root, h("div", { class: "landing" }, header, h("section", { class: "card" }, h("h1", {}, "My videos 我的视频"), h("p", {}, "Sign in first. 请先登录。"))));
    return;
  }
  const page = new VideosPage(session);
  show(
    root,
    h(
      "div",
      { class: "landing", testid: "videos-page" },
      header,
      h(
        "section",
        { class: "card meetings-card" },
        h(
          "div",
          { class: "card-title" },
          h("h1", {}, "My videos 我的视频"),
          h("button", { class: "link-button", type: "button", testid: "my-meetings", onclick: () => handlers.onMeetings() }, "My meetings 我的会议"),
        ),
        page.error,
        page.player,
        page.list,
      ),
    ),
  );
  void page.load();
}

/** The list and the player of one "My videos" page. */
class VideosPage {
  readonly error = h("div", { class: "error", role: "alert", testid: "videos-error" });
  readonly list = h("ul", { class: "meeting-list video-list", testid: "video-list", "aria-label": "My videos 我的视频", "aria-busy": "true" });
  private readonly video = h("video", { controls: true, preload: "metadata", testid: "video-player" });
  private readonly caption = h("figcaption", { testid: "video-player-title" });
  readonly player = h("figure", { class: "video-player" }, this.video, this.caption);
  private recordings: Recording[] = [];
  private playing: string | null = null;

  constructor(private readonly session: Session) {
    this.player.hidden = true;
  }

  async load(): Promise<void> {
    try {
      this.recordings = await api.recordings(this.session.token);
      this.draw();
    } catch (e) {
      this.fail(e);
    } finally {
      this.list.setAttribute("aria-busy", "false");
    }
  }

  private draw(): void {
    this.list.replaceChildren(
      ...(this.recordings.length ? this.recordings.map((r) => this.item(r)) : [h("li", { class: "empty", testid: "videos-empty" }, EMPTY_TEXT)]),
    );
  }

  private item(recording: Recording): HTMLLIElement {
    const zone = browserTimeZone();
    const playable = recording.state !== "recording";
    return h(
      "li",
      {
        class: `meeting-item${recording.id === this.playing ? " playing" : ""}`,
        testid: "video-item",
        "data-recording-id": recording.id,
        "data-state": recording.state,
      },
      h(
        "div",
        { class: "meeting-info" },
        h("strong", { class: "item-topic", testid: "video-title" }, recording.title),
        h(
          "span",
          { class: "when" },
          h("time", { datetime: new Date(recording.started_at * 1000).toISOString() }, formatInZone(recording.started_at, zone)),
          ` ${zone}`,
        ),
        h(
          "span",
          { class: "meta" },
          h("span", { testid: "video-duration" }, formatDuration(recording.duration_ms)),
          ` · ${formatSize(recording.size_bytes)} · `,
          h("span", { testid: "video-state" }, FILE_STATES[recording.state]),
          ` · No. 会议号 ${formatMeetingNumber(recording.meeting_number)}`,
        ),
      ),
      h(
        "div",
        { class: "item-actions" },
        h(
          "button",
          { class: "primary", type: "button", testid: "video-play", disabled: !playable, onclick: () => this.play(recording) },
          "Play 播放",
        ),
        h("a", { class: "secondary", href: recording.download_url, download: "", testid: "video-download" }, "Download 下载"),
        h("button", { class: "secondary", type: "button", testid: "video-rename", onclick: () => void this.rename(recording) }, "Rename 重命名"),
        h("button", { class: "secondary", type: "button", testid: "video-delete", onclick: () => void this.remove(recording) }, "Delete 删除"),
      ),
    );
  }

  private play(recording: Recording): void {
    this.playing = recording.id;
    this.player.hidden = false;
    this.caption.textContent = recording.title;
    this.video.src = recording.media_url;
    void this.video.play().catch(() => undefined);
    this.draw();
  }

  private stopPlaying(): void {
    this.playing = null;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    this.player.hidden = true;
  }

  private async rename(recording: Recording): Promise<void> {
    const title = await askText({
      testid: "rename-video",
      title: "Rename video 重命名视频",
      label: "Title 标题",
      value: recording.title,
      maxLength: TITLE_CHARS,
      confirm: "Rename 重命名",
    });
    if (!title || title === recording.title) return;
    try {
      const renamed = await api.renameRecording(this.session.token, recording.id, { title });
      this.recordings = this.recordings.map((r) => (r.id === renamed.id ? renamed : r));
      if (this.playing === renamed.id) this.caption.textContent = renamed.title;
      this.error.textContent = "";
      this.draw();
    } catch (e) {
      this.fail(e);
    }
  }

  private async remove(recording: Recording): Promise<void> {
    const yes = await askChoice({
      testid: "confirm-delete-video",
      title: `Delete “${recording.title}”? 删除该视频？`,
      text: "The file is deleted for good. 文件将被永久删除。",
      confirm: "Delete 删除",
      cancel: "Cancel 取消",
    });
    if (!yes) return;
    try {
      await api.deleteRecording(this.session.token, recording.id);
      if (this.playing === recording.id) this.stopPlaying();
      this.recordings = this.recordings.filter((r) => r.id !== recording.id);
      this.error.textContent = "";
      this.draw();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.error.textContent = e instanceof ApiRequestError ? e.message : String(e);
    if (e instanceof ApiRequestError && e.status === 401) {
      localProfile.forgetSession();
      this.error.textContent += " Sign in again. 请重新登录。";
    }
  }
}
