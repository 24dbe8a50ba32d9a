// `window.yunhui`: live state of this page for end-to-end tests and for
// debugging from the browser console. Read-only by convention.

import type { Participant, VideoSubscription } from "./proto";

export interface Inspection {
  /** This browser's participant id once joined. */
  participantId?: string;
  meetingNumber?: string;
  publisherPc?: RTCPeerConnection;
  subscriberPc?: RTCPeerConnection;
  /** Everyone in the meeting as the server last described them. */
  readonly participants: Participant[];
  /** Why the join is on hold (while `state` is "waiting"). */
  waitingReason?: string;
  /** "join" before joining, "waiting" on hold, then "joined", and at the end
   * "ended", "left", "disconnected", "removed" or "denied". */
  state: string;
  /** The meeting page's layout: gallery or speaker view, the gallery page,
   * and the participant in the main picture. */
  layout?: { mode: string; page: number; pages: number; main: string | null };
  /** The video this page last asked the SFU for (everyone else: off). */
  videoSubscriptions?: VideoSubscription[];
  /** The most anyone watching this page's video wants (`publish_quality`). */
  publishQuality?: string;
  /** How the invitations this page sent go, by account id
   * (`ringing`, `offline`, `accepted`, `declined`). */
  invites?: Record<string, string>;
  /** Calls out this page placed, by call id. */
  dials?: Record<string, { target: string; state: string; reason?: string; participantId?: string }>;
  /** The call ringing this browser, while it rings. */
  incomingCall?: { callId: string; meetingNumber: string; inviter: string } | null;
}

declare global {
  interface Window {
    yunhui: Inspection;
  }
}

interface Update extends Partial<Omit<Inspection, "participants">> {
  participants?: () => Participant[];
}

let participantsSource: () => Participant[] = () => [];

const inspection: Inspection = {
  state: "join",
  get participants() {
    return participantsSource();
  },
};

export function exposeForInspection(update: Update): void {
  const { participants, ...rest } = update;
  if (participants) participantsSource = participants;
  Object.assign(inspection, rest);
  window.yunhui = inspection;
}
