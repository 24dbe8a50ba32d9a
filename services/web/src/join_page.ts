// The join page: join by number (+ password) or by link (`/j/{number}?k=KEY`,
// name only), plus an optional sign-in box from which a signed-in user starts
// an instant meeting and joins it as host.

import { ApiRequestError, api } from "./api";
import { deployment } from "./deployment";
import { formatMeetingNumber, h, show } from "./dom";
import { exposeForInspection } from "./inspection";
import type { MeetingExit } from "./farewell";
import { localProfile } from "./local_profile";
import type { Session } from "./proto";
import { LIMITS } from "./proto";
import { SignalingChannel, SignalingError, joinMeeting, type JoinRequest, type Joined } from "./signaling";
import { WaitingRoomScreen } from "./waiting_room";

export interface JoinPageParams {
  /** Pre-filled meeting number (from `/j/{number}`). */
  meetingNumber?: string;
  /** Link key (from `?k=`); replaces the password. */
  linkKey?: string;
  /** Join at once when the name is known (Join from "My meetings"). */
  autoJoin?: boolean;
}

export interface JoinPageHandlers {
  /** The join succeeded (at once or after the waiting room). */
  onJoined: (channel: SignalingChannel, joined: Joined, request: JoinRequest, inviteUrl?: string) => void;
  /** A join on hold ended without entering: turned away, left, meeting ended. */
  onWaitEnded: (exit: MeetingExit) => void;
  /** Open "My meetings" (signed in only). */
  onMyMeetings: () => void;
  /** Open "My videos" (signed in only). */
  onMyVideos: () => void;
}

const TOKEN_ERRORS = new Set(["invalid_token", "token_expired"]);
/** Errors after which a link joiner may type the password instead. */
const PASSWORD_ERRORS = new Set(["wrong_password", "password_required"]);

/** Refusals that deserve a sentence in both languages before the server's own. */
const REFUSALS: Record<string, string> = {
  meeting_locked: "The host has locked this meeting. 主持人已锁定会议，暂时无法加入。",
  entry_denied: "The host did not let you in. 主持人拒绝了您的入会请求。",
  too_many_attempts: "Too many wrong passwords. 密码错误次数过多，请稍后再试。",
  licence_exceeded: "The meeting is full for this licence. 会议方数已达授权上限。",
  not_invited: "Only invitees may join this meeting. 仅受邀人员可加入本会议。",
  meeting_ended: "This meeting has ended. 会议已结束。",
};

function errorMessage(error: unknown): string {
  if (error instanceof ApiRequestError || error instanceof SignalingError) {
    const refusal = REFUSALS[error.code];
    return refusal ? `${refusal} (${error.message})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** How a join on hold ended, from the error that ended it. */
/** The screen after a join that ended without entering. */
export function exitOfWait(error: unknown): MeetingExit {
  switch (errorCode(error)) {
    case "entry_denied":
      return { kind: "denied" };
    case "meeting_ended":
      return { kind: "ended", reason: "ended_by_host" };
    default:
      return { kind: "disconnected" };
  }
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof ApiRequestError || error instanceof SignalingError) return error.code;
  return undefined;
}

/** The key (`k`) of a join link, if the URL has one. */
function linkKeyOf(joinUrl: string): string | undefined {
  try {
    return new URL(joinUrl, location.href).searchParams.get("k") ?? undefined;
  } catch {
    return undefined;
  }
}

function field(label: string, input: HTMLInputElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function renderJoinPage(root: HTMLElement, params: JoinPageParams, handlers: JoinPageHandlers): void {
  exposeForInspection({ state: "join" });
  const byLink = Boolean(params.meetingNumber && params.linkKey);
  /** One socket is kept across retries (the server keeps it open after an error). */
  let channel: SignalingChannel | null = null;
  let busy = false;

  const numberInput = h("input", {
    testid: "meeting-number",
    name: "meeting-number",
    inputmode: "numeric",
    autocomplete: "off",
    placeholder: "123 456 789",
    value: params.meetingNumber ? formatMeetingNumber(params.meetingNumber) : "",
  });
  const nameInput = h("input", {
    testid: "display-name",
    name: "display-name",
    autocomplete: "name",
    maxlength: String(LIMITS.display_name_chars),
    placeholder: "Your name 您的姓名",
    value: localProfile.displayName() || localProfile.session()?.account.display_name || "",
  });
  const passwordInput = h("input", {
    testid: "meeting-password",
    name: "meeting-password",
    type: "password",
    autocomplete: "off",
    maxlength: String(LIMITS.meeting_password_max_chars),
    placeholder: "If the meeting has one 如有",
  });
  const passwordField = field("Password 会议密码", passwordInput);
  passwordField.hidden = byLink;
  const joinError = h("div", { class: "error", testid: "join-error", role: "alert", "aria-live": "polite" });
  const joinButton = h("button", { class: "primary", type: "submit", testid: "join-button" }, "Join 加入会议");
  const topicLine = h("p", { class: "topic", testid: "meeting-preview" });

  const setBusy = (value: boolean) => {
    busy = value;
    joinButton.disabled = value;
    newMeetingButton.disabled = value;
    joinButton.textContent = value ? "Joining… 正在加入" : "Join 加入会议";
  };

  async function join(request: JoinRequest, inviteUrl?: string): Promise<void> {
    if (busy) return;
    setBusy(true);
    joinError.textContent = "";
    let waitingScreen: WaitingRoomScreen | null = null;
    let leftWaiting = false;
    try {
      if (!channel || !channel.isOpen) channel = await SignalingChannel.open();
      const open = channel;
      const session = localProfile.session();
      const leaveWaiting = () => {
        // Closing the channel silences it, so the pending join never settles.
        leftWaiting = true;
        open.send({ type: "leave" });
        open.close();
        channel = null;
        exposeForInspection({ state: "left" });
        handlers.onWaitEnded({ kind: "left" });
      };
      const sent = session ? { ...request, token: session.token } : request;
      const joined = await joinMeeting(open, sent, (waiting) => {
        localProfile.rememberDisplayName(request.display_name);
        waitingScreen ??= new WaitingRoomScreen(root, leaveWaiting);
        waitingScreen.update(waiting);
      });
      localProfile.rememberDisplayName(request.display_name);
      handlers.onJoined(open, joined, sent, inviteUrl);
    } catch (error) {
      if (leftWaiting) return;
      if (waitingScreen) {
        // The join page is gone: the outcome gets its own screen.
        channel?.close();
        channel = null;
        const exit = exitOfWait(error);
        exposeForInspection({ state: exit.kind });
        handlers.onWaitEnded(exit);
        return;
      }
      joinError.textContent = errorMessage(error);
      if (byLink && PASSWORD_ERRORS.has(errorCode(error) ?? "")) passwordField.hidden = false;
      if (TOKEN_ERRORS.has(errorCode(error) ?? "")) {
        localProfile.forgetSession();
        renderAccountBox();
      }
      setBusy(false);
    }
  }

  function submitJoin(event: Event): void {
    event.preventDefault();
    const displayName = nameInput.value.trim();
    const meetingNumber = (params.meetingNumber ?? numberInput.value).replace(/[\s-]/g, "");
    if (!byLink && !meetingNumber) {
      joinError.textContent = "Enter the meeting number. 请输入会议号。";
      numberInput.focus();
      return;
    }
    if (!displayName) {
      joinError.textContent = "Enter your name. 请输入您的姓名。";
      nameInput.focus();
      return;
    }
    const request: JoinRequest = { meeting_number: meetingNumber, display_name: displayName };
    const password = passwordInput.value;
    // A link joiner who typed a password (after the link was refused) uses it instead.
    if (password) request.password = password;
    else if (byLink && params.linkKey) request.link_key = params.linkKey;
    void join(request);
  }

  const joinForm = h(
    "form",
    { class: "card join-card", testid: "join-form", onsubmit: submitJoin },
    h("h1", {}, byLink ? "Join meeting 加入会议" : "Join a meeting 加入会议"),
    byLink
      ? h(
          "div",
          { class: "link-meeting" },
          h("span", { class: "label" }, "Meeting ID 会议号"),
          h("strong", { class: "meeting-number", testid: "link-meeting-number" }, formatMeetingNumber(params.meetingNumber ?? "")),
          topicLine,
        )
      : field("Meeting ID 会议号", numberInput),
    field("Your name 姓名", nameInput),
    passwordField,
    roomModeSwitch(),
    joinError,
    joinButton,
  );

  if (params.meetingNumber) {
    api
      .previewMeeting(params.meetingNumber.replace(/[\s-]/g, ""))
      .then((preview) => {
        topicLine.textContent = preview.topic;
      })
      .catch(() => undefined);
  }

  // ---- Sign-in box and "New meeting" ----
  const accountBox = h("section", { class: "card account-card", testid: "account-box" });
  const newMeetingPassword = h("input", {
    testid: "new-meeting-password",
    name: "new-meeting-password",
    type: "password",
    autocomplete: "new-password",
    maxlength: String(LIMITS.meeting_password_max_chars),
    placeholder: `Optional 可选 (${LIMITS.meeting_password_min_chars}–${LIMITS.meeting_password_max_chars})`,
  });
  const newMeetingButton = h("button", { class: "primary", type: "submit", testid: "new-meeting" }, "New meeting 发起会议");
  const accountError = h("div", { class: "error", testid: "account-error", role: "alert" });

  async function startInstantMeeting(session: Session): Promise<void> {
    accountError.textContent = "";
    newMeetingButton.disabled = true;
    try {
      const password = newMeetingPassword.value;
      const meeting = await api.createMeeting(session.token, password ? { password } : {});
      const displayName = nameInput.value.trim() || session.account.display_name;
      const request: JoinRequest = { meeting_number: meeting.number, display_name: displayName };
      const linkKey = linkKeyOf(meeting.join_url);
      if (linkKey) request.link_key = linkKey;
      if (meeting.password) request.password = meeting.password;
      history.replaceState(null, "", `/j/${meeting.number}`);
      await join(request, meeting.join_url);
    } catch (error) {
      accountError.textContent = errorMessage(error);
      if (TOKEN_ERRORS.has(errorCode(error) ?? "") || (error instanceof ApiRequestError && error.status === 401)) {
        localProfile.forgetSession();
        renderAccountBox();
        accountError.textContent = errorMessage(error);
      }
    } finally {
      newMeetingButton.disabled = busy;
    }
  }

  function renderSignedIn(session: Session): void {
    const signOut = async () => {
      localProfile.forgetSession();
      renderAccountBox();
      await api.signOut(session.token).catch(() => undefined);
    };
    accountBox.replaceChildren(
      h("h2", {}, "Start a meeting 发起会议"),
      h(
        "p",
        { class: "signed-in" },
        "Signed in as 已登录：",
        h("strong", { testid: "signed-in-as" }, session.account.display_name),
        " ",
        h("button", { class: "link-button", type: "button", testid: "sign-out", onclick: () => void signOut() }, "Sign out 退出"),
      ),
      h(
        "p",
        {},
        h("button", { class: "link-button", type: "button", onclick: () => handlers.onMyMeetings() }, "My meetings 我的会议"),
        " · ",
        h("button", { class: "link-button", type: "button", testid: "my-videos", onclick: () => handlers.onMyVideos() }, "My videos 我的视频"),
      ),
      h(
        "form",
        {
          onsubmit: (event: Event) => {
            event.preventDefault();
            void startInstantMeeting(session);
          },
        },
        field("Meeting password 会议密码", newMeetingPassword),
        accountError,
        newMeetingButton,
      ),
    );
  }

  function renderSignInForm(): void {
    const loginInput = h("input", {
      testid: "signin-login",
      name: "login",
      autocomplete: "username",
      placeholder: "name@example.com / 13800138000",
    });
    const signInPasswordInput = h("input", {
      testid: "signin-password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
    });
    const submit = h("button", { class: "secondary", type: "submit", testid: "signin-submit" }, "Sign in 登录");
    const signInError = h("div", { class: "error", testid: "signin-error", role: "alert" });
    const signIn = async (event: Event) => {
      event.preventDefault();
      signInError.textContent = "";
      submit.disabled = true;
      try {
        const session = await api.signIn({ login: loginInput.value.trim(), password: signInPasswordInput.value });
        localProfile.rememberSession(session);
        if (!nameInput.value.trim()) nameInput.value = session.account.display_name;
        renderAccountBox();
      } catch (error) {
        signInError.textContent = errorMessage(error);
        submit.disabled = false;
      }
    };
    accountBox.replaceChildren(
      h("h2", {}, "Sign in to host 登录以主持会议"),
      h(
        "form",
        { testid: "signin-form", onsubmit: (event: Event) => void signIn(event) },
        field("Email or phone 邮箱或手机号", loginInput),
        field("Password 密码", signInPasswordInput),
        signInError,
        submit,
      ),
    );
  }

  /** The deployment's discovery document offers no sign-in method this page knows. */
  function renderNoSignIn(): void {
    accountBox.replaceChildren(
      h("h2", {}, "Sign in 登录"),
      h(
        "p",
        { testid: "signin-unavailable" },
        "This deployment offers no way of signing in on this page; join meetings by number or link. 本部署未在此页面提供登录方式，请通过会议号或链接入会。",
      ),
    );
  }

  function renderAccountBox(): void {
    const session = localProfile.session();
    if (session) renderSignedIn(session);
    else if (deployment().login.includes("password")) renderSignInForm();
    else renderNoSignIn();
  }

  renderAccountBox();

  show(
    root,
    h(
      "div",
      { class: "landing", testid: "join-page" },
      h(
        "header",
        { class: "landing-header" },
        h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
        organisationLine(),
        h("p", { class: "tagline" }, "Secure video meetings on your own servers. 私有化部署的安全视频会议。"),
      ),
      h("div", { class: "cards" }, joinForm, byLink ? null : accountBox),
    ),
  );
  (params.meetingNumber ? nameInput : numberInput).focus();
  if (params.autoJoin && nameInput.value.trim()) joinForm.requestSubmit();
}

/** The organisation the deployment's discovery document names, if any. */
function organisationLine(): HTMLElement | null {
  const organisation = deployment().organisation;
  return organisation ? h("p", { class: "organisation", testid: "organisation" }, organisation) : null;
}

/** "Room mode": this browser is a meeting-room terminal (F-CTL-9); kept for later visits. */
function roomModeSwitch(): HTMLElement {
  const box = h("input", { type: "checkbox", testid: "room-mode", checked: localProfile.roomMode() });
  box.addEventListener("change", () => localProfile.setRoomMode(box.checked));
  return h("label", { class: "room-mode-switch" }, box, "Room mode (meeting-room terminal) 会议室模式");
}
