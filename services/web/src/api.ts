// REST client for the Open API, at the base the deployment's discovery
// document names (`deployment.ts`; without one, /api/v1 on the page's
// origin). Every failure surfaces as an `ApiRequestError` carrying the
// server's own code and message.

import type {
  About,
  Account,
  AccountStatus,
  AccountStatusRequest,
  ApiError,
  ApiKey,
  ApprovalRequest,
  AuditEntry,
  CloudRoomMembersRequest,
  CloudRoomStreaming,
  CreateApiKeyRequest,
  CreateGroupChatRequest,
  CreateMeetingRequest,
  CreatedApiKey,
  Department,
  DepartmentRequest,
  DirectoryDevice,
  DirectoryDeviceRequest,
  DirectoryEntry,
  GroupChat,
  GroupChatMessage,
  HistoryEntry,
  LoginRequest,
  Meeting,
  MeetingPreview,
  LicenceUse,
  MarkChatRead,
  MediaPolicy,
  MediaPolicyRequest,
  Occurrence,
  PostGroupChatMessage,
  Profile,
  Recording,
  RefreshRequest,
  RegisterRequest,
  RenameRecordingRequest,
  RoleRequest,
  ScheduleRequest,
  ScheduledMeeting,
  Session,
  StreamingPermission,
} from "./proto";
import { deployment } from "./deployment";

/** A non-2xx answer (or a network failure) from the Open API. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiRequestError";
  }
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

async function request<T>(method: Method, path: string, body?: unknown, token?: string): Promise<T> {
  const text = await requestText(method, path, body, token);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The body of a 2xx answer as text (errors still come as JSON); `path` is below the API's base. */
async function requestText(method: Method, path: string, body?: unknown, token?: string): Promise<string> {
  const headers: Record<string, string> = { Accept: "application/json, text/plain" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${deployment().api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiRequestError(0, "network_error", "Cannot reach the server. Check your network and try again. 无法连接服务器。");
  }
  const text = await response.text();
  if (!response.ok) {
    throw errorFromBody(response.status, text);
  }
  return text;
}

function errorFromBody(status: number, text: string): ApiRequestError {
  try {
    const parsed = JSON.parse(text) as Partial<ApiError>;
    if (parsed.error && typeof parsed.error.message === "string") {
      return new ApiRequestError(status, parsed.error.code, parsed.error.message);
    }
  } catch {
    // Not JSON: fall through to a generic message.
  }
  return new ApiRequestError(status, "http_error", `The server answered ${status}.`);
}

export const api = {
  register: (body: RegisterRequest) => request<Account>("POST", "/accounts", body),
  signIn: (body: LoginRequest) => request<Session>("POST", "/sessions", body),
  signOut: (token: string) => request<void>("DELETE", "/sessions", undefined, token),
  refreshSession: (body: RefreshRequest) => request<Session>("POST", "/sessions/refresh", body),
  me: (token: string) => request<Account>("GET", "/me", undefined, token),
  createMeeting: (token: string, body: CreateMeetingRequest) =>
    request<Meeting>("POST", "/meetings", body, token),
  previewMeeting: (number: string) =>
    request<MeetingPreview>("GET", `/meetings/by-number/${encodeURIComponent(number)}`),
  schedule: (token: string, body: ScheduleRequest) =>
    request<ScheduledMeeting>("POST", "/schedules", body, token),
  scheduled: (token: string, id: string) =>
    request<ScheduledMeeting>("GET", `/schedules/${encodeURIComponent(id)}`, undefined, token),
  invitation: (token: string, id: string, lang: "zh" | "en") =>
    requestText("GET", `/schedules/${encodeURIComponent(id)}/invitation?lang=${lang}`, undefined, token),
  /** Occurrences overlapping [from, to) (Unix seconds). */
  upcoming: (token: string, from: number, to: number) =>
    request<Occurrence[]>("GET", `/upcoming?from=${from}&to=${to}`, undefined, token),
  history: (token: string) => request<HistoryEntry[]>("GET", "/history", undefined, token),
  /** The caller's frequent contacts (常用联系人), by name. */
  frequentContacts: (token: string) => request<DirectoryEntry[]>("GET", "/me/contacts", undefined, token),
  addFrequentContact: (token: string, id: string) =>
    request<void>("PUT", `/me/contacts/${encodeURIComponent(id)}`, undefined, token),
  removeFrequentContact: (token: string, id: string) =>
    request<void>("DELETE", `/me/contacts/${encodeURIComponent(id)}`, undefined, token),
  directory: (token: string, query: string) =>
    request<DirectoryEntry[]>("GET", `/directory?q=${encodeURIComponent(query)}&limit=10`, undefined, token),
  /** The caller's own recordings ("My videos"), newest first. */
  recordings: (token: string) => request<Recording[]>("GET", "/recordings", undefined, token),
  renameRecording: (token: string, id: string, body: RenameRecordingRequest) =>
    request<Recording>("PATCH", `/recordings/${encodeURIComponent(id)}`, body, token),
  deleteRecording: (token: string, id: string) =>
    request<void>("DELETE", `/recordings/${encodeURIComponent(id)}`, undefined, token),
  about: () => request<About>("GET", "/about"),
  /** The account with its tenant's name; `console_url` for tenant administrators. */
  profile: (token: string) => request<Profile>("GET", "/me/profile", undefined, token),

  // Group chats (F-DIR-2).
  /** The caller's chats, the one with the latest message first. */
  chats: (token: string) => request<GroupChat[]>("GET", "/chats", undefined, token),
  createChat: (token: string, body: CreateGroupChatRequest) => request<GroupChat>("POST", "/chats", body, token),
  chat: (token: string, id: string) => request<GroupChat>("GET", `/chats/${encodeURIComponent(id)}`, undefined, token),
  /** Newest first; `before`: the id of the last (oldest) message of the page before. */
  chatMessages: (token: string, id: string, limit: number, before?: string) =>
    request<GroupChatMessage[]>(
      "GET",
      `/chats/${encodeURIComponent(id)}/messages?limit=${limit}${before === undefined ? "" : `&before=${encodeURIComponent(before)}`}`,
      undefined,
      token,
    ),
  postChatMessage: (token: string, id: string, body: PostGroupChatMessage) =>
    request<GroupChatMessage>("POST", `/chats/${encodeURIComponent(id)}/messages`, body, token),
  markChatRead: (token: string, id: string, body: MarkChatRead) =>
    request<void>("PUT", `/chats/${encodeURIComponent(id)}/read`, body, token),
  /** An instant meeting hosted by the caller; the other members ring. */
  startChatMeeting: (token: string, id: string) =>
    request<Meeting>("POST", `/chats/${encodeURIComponent(id)}/meeting`, undefined, token),

  // The management console (tenant administrators).
  adminAccounts: (token: string, status?: AccountStatus) =>
    request<Account[]>("GET", `/admin/accounts${status ? `?status=${status}` : ""}`, undefined, token),
  decideRegistration: (token: string, id: string, body: ApprovalRequest) =>
    request<Account>("POST", `/admin/accounts/${encodeURIComponent(id)}/approval`, body, token),
  setAccountRole: (token: string, id: string, body: RoleRequest) =>
    request<Account>("PUT", `/admin/accounts/${encodeURIComponent(id)}/role`, body, token),
  setAccountStatus: (token: string, id: string, body: AccountStatusRequest) =>
    request<Account>("PUT", `/admin/accounts/${encodeURIComponent(id)}/status`, body, token),
  departments: (token: string) => request<Department[]>("GET", "/directory/departments", undefined, token),
  departmentMembers: (token: string, id: string) =>
    request<DirectoryEntry[]>("GET", `/directory/departments/${encodeURIComponent(id)}/members`, undefined, token),
  createDepartment: (token: string, body: DepartmentRequest) =>
    request<Department>("POST", "/admin/departments", body, token),
  updateDepartment: (token: string, id: string, body: DepartmentRequest) =>
    request<Department>("PUT", `/admin/departments/${encodeURIComponent(id)}`, body, token),
  deleteDepartment: (token: string, id: string) =>
    request<void>("DELETE", `/admin/departments/${encodeURIComponent(id)}`, undefined, token),
  devices: (token: string) => request<DirectoryDevice[]>("GET", "/directory/devices", undefined, token),
  createDevice: (token: string, body: DirectoryDeviceRequest) =>
    request<DirectoryDevice>("POST", "/admin/devices", body, token),
  deleteDevice: (token: string, id: string) =>
    request<void>("DELETE", `/admin/devices/${encodeURIComponent(id)}`, undefined, token),
  adminCloudRooms: (token: string) => request<CloudRoomStreaming[]>("GET", "/admin/cloud-rooms", undefined, token),
  setCloudRoomMembers: (token: string, id: string, body: CloudRoomMembersRequest) =>
    request<CloudRoomStreaming>("PUT", `/admin/cloud-rooms/${encodeURIComponent(id)}/members`, body, token),
  setCloudRoomStreaming: (token: string, id: string, body: StreamingPermission) =>
    request<CloudRoomStreaming>("PUT", `/admin/cloud-rooms/${encodeURIComponent(id)}/streaming`, body, token),
  mediaPolicy: (token: string) => request<MediaPolicy>("GET", "/admin/media-policy", undefined, token),
  setMediaPolicy: (token: string, body: MediaPolicyRequest) =>
    request<MediaPolicy>("PUT", "/admin/media-policy", body, token),
  licence: (token: string) => request<LicenceUse>("GET", "/admin/licence", undefined, token),
  apiKeys: (token: string) => request<ApiKey[]>("GET", "/admin/api-keys", undefined, token),
  createApiKey: (token: string, body: CreateApiKeyRequest) =>
    request<CreatedApiKey>("POST", "/admin/api-keys", body, token),
  revokeApiKey: (token: string, id: string) =>
    request<void>("DELETE", `/admin/api-keys/${encodeURIComponent(id)}`, undefined, token),
  /** Newest first; `before`: the id of the last (oldest) entry of the page before. */
  auditLog: (token: string, limit: number, before?: string) =>
    request<AuditEntry[]>(
      "GET",
      `/admin/audit-log?limit=${limit}${before === undefined ? "" : `&before=${encodeURIComponent(before)}`}`,
      undefined,
      token,
    ),
};
