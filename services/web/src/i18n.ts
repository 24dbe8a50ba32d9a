// The string table of the management console and the group chats page, in Chinese and English, and
// `t(key, params)` to read it. The language is the one chosen in the page
// (kept in localStorage), else the browser's (`zh*` → Chinese, anything
// else → English). Parameters are written `{name}` in the text.

export type Language = "zh" | "en";
export const LANGUAGES: readonly Language[] = ["zh", "en"];

type Entry = { readonly en: string; readonly zh: string };

export const STRINGS = {
  // Page shell
  "brand.logo": { en: "云", zh: "云" },
  "brand.name": { en: "Yunhui 云会", zh: "云会 Yunhui" },
  "console.title": { en: "Management console", zh: "管理控制台" },
  "console.documentTitle": { en: "Management console · Yunhui", zh: "管理控制台 · 云会" },
  "console.tenant": { en: "Enterprise: {name}", zh: "企业：{name}" },
  "console.signedInAs": { en: "Signed in as {name}", zh: "当前用户：{name}" },
  "console.home": { en: "Home", zh: "首页" },
  "console.language": { en: "Language", zh: "语言" },
  "console.loading": { en: "Loading…", zh: "正在加载…" },
  "console.signInFirst": { en: "Sign in first to open the management console.", zh: "请先登录，再打开管理控制台。" },
  "console.signInAgain": { en: "Your session has ended. Sign in again.", zh: "登录已失效，请重新登录。" },
  "console.adminsOnly": {
    en: "The management console is for administrators only. Ask your enterprise's administrator if you need something changed.",
    zh: "管理控制台仅供管理员使用。如需更改，请联系贵企业的管理员。",
  },
  "console.goSignIn": { en: "Go to sign in", zh: "去登录" },
  "console.goHome": { en: "Back to the home page", zh: "返回首页" },
  "language.zh": { en: "中文", zh: "中文" },
  "language.en": { en: "English", zh: "English" },
  "tab.accounts": { en: "Accounts", zh: "账号" },
  "tab.departments": { en: "Departments", zh: "部门" },
  "tab.devices": { en: "Devices", zh: "会议设备" },
  "tab.rooms": { en: "Cloud rooms", zh: "云会议室" },
  "tab.licence": { en: "Licence", zh: "许可" },
  "tab.keys": { en: "API keys", zh: "API 密钥" },
  "tab.audit": { en: "Audit log", zh: "操作日志" },
  "tab.media": { en: "Recording", zh: "录制与直播" },

  // Group chats (/chats)
  "chats.title": { en: "Group chats", zh: "群聊" },
  "chats.documentTitle": { en: "Group chats · Yunhui", zh: "群聊 · 云会" },
  "chats.myMeetings": { en: "My meetings", zh: "我的会议" },
  "chats.signInFirst": { en: "Sign in first to see your group chats.", zh: "请先登录，再查看群聊。" },
  "chats.new": { en: "New chat", zh: "新建群聊" },
  "chats.name": { en: "Chat name", zh: "群聊名称" },
  "chats.members": { en: "Members", zh: "成员" },
  "chats.create": { en: "Create", zh: "创建" },
  "chats.none": { en: "No group chats yet.", zh: "暂无群聊。" },
  "chats.pick": { en: "Choose a chat on the left, or start a new one.", zh: "请在左侧选择群聊，或新建群聊。" },
  "chats.noMessages": { en: "No messages yet.", zh: "暂无消息。" },
  "chats.unread": { en: "{count} unread", zh: "{count} 条未读" },
  "chats.earlier": { en: "Earlier messages", zh: "更早的消息" },
  "chats.composePlaceholder": { en: "Write a message (Enter sends, Shift+Enter starts a new line)", zh: "输入消息（Enter 发送，Shift+Enter 换行）" },
  "chats.send": { en: "Send", zh: "发送" },
  "chats.startMeeting": { en: "Start a meeting", zh: "发起会议" },
  "chats.startedMeeting": { en: "started a meeting", zh: "发起了会议" },
  "chats.meetingAnnounced": { en: "Meeting “{topic}” ({number}) started.", zh: "会议“{topic}”（{number}）已开始。" },
  "chats.join": { en: "Join", zh: "加入" },

  // Shared words
  "common.cancel": { en: "Cancel", zh: "取消" },
  "common.save": { en: "Save", zh: "保存" },
  "common.none": { en: "—", zh: "—" },
  "common.name": { en: "Name", zh: "名称" },
  "common.actions": { en: "Actions", zh: "操作" },
  "common.retry": { en: "Try again", zh: "重试" },

  // Accounts
  "accounts.pending": { en: "Waiting for approval", zh: "待审批注册" },
  "accounts.noPending": { en: "No registrations are waiting.", zh: "暂无待审批的注册。" },
  "accounts.all": { en: "All accounts", zh: "全部账号" },
  "accounts.noAccounts": { en: "No accounts yet.", zh: "暂无账号。" },
  "accounts.approve": { en: "Approve", zh: "批准" },
  "accounts.reject": { en: "Reject", zh: "拒绝" },
  "accounts.rejectTitle": { en: "Reject the registration of {name}?", zh: "拒绝 {name} 的注册？" },
  "accounts.rejectText": { en: "They will not be able to sign in.", zh: "对方将无法登录。" },
  "accounts.approved": { en: "{name} can now sign in.", zh: "{name} 现在可以登录了。" },
  "accounts.rejected": { en: "The registration of {name} was rejected.", zh: "已拒绝 {name} 的注册。" },
  "accounts.colName": { en: "Name", zh: "姓名" },
  "accounts.colLogin": { en: "Login", zh: "登录名" },
  "accounts.colDepartment": { en: "Department", zh: "部门" },
  "accounts.colRole": { en: "Role", zh: "角色" },
  "accounts.colStatus": { en: "Status", zh: "状态" },
  "accounts.roleOf": { en: "Role of {name}", zh: "{name} 的角色" },
  "accounts.disable": { en: "Disable", zh: "停用" },
  "accounts.enable": { en: "Enable", zh: "启用" },
  "accounts.disableTitle": { en: "Disable {name}?", zh: "停用 {name}？" },
  "accounts.disableText": {
    en: "They cannot sign in any more, and their sessions and API keys stop working.",
    zh: "对方将无法登录，其会话和 API 密钥也将失效。",
  },
  "accounts.you": { en: "(you)", zh: "（你）" },
  "role.member": { en: "Member", zh: "成员" },
  "role.tenant_admin": { en: "Administrator", zh: "管理员" },
  "status.active": { en: "Active", zh: "正常" },
  "status.pending": { en: "Waiting for approval", zh: "待审批" },
  "status.rejected": { en: "Rejected", zh: "已拒绝" },
  "status.disabled": { en: "Disabled", zh: "已停用" },

  // Departments
  "departments.new": { en: "New department", zh: "新建部门" },
  "departments.name": { en: "Department name", zh: "部门名称" },
  "departments.parent": { en: "Belongs to", zh: "上级部门" },
  "departments.topLevel": { en: "(top level)", zh: "（顶级）" },
  "departments.create": { en: "Create", zh: "创建" },
  "departments.created": { en: "Department {name} created.", zh: "已创建部门 {name}。" },
  "departments.tree": { en: "Departments", zh: "部门结构" },
  "departments.none": { en: "No departments yet.", zh: "暂无部门。" },
  "departments.memberCount": { en: "{count} members", zh: "{count} 人" },
  "departments.showMembers": { en: "Members", zh: "成员" },
  "departments.rename": { en: "Rename", zh: "重命名" },
  "departments.renameTitle": { en: "Rename {name}", zh: "重命名 {name}" },
  "departments.delete": { en: "Delete", zh: "删除" },
  "departments.deleteTitle": { en: "Delete {name}?", zh: "删除 {name}？" },
  "departments.deleteText": {
    en: "Only a department without sub-departments or members can be deleted.",
    zh: "只有没有子部门和成员的部门才能删除。",
  },
  "departments.membersOf": { en: "Members of {name}", zh: "{name} 的成员" },
  "departments.noMembers": { en: "Nobody is directly in this department.", zh: "该部门下没有直属成员。" },

  // Devices
  "devices.new": { en: "Add a meeting device", zh: "添加会议设备" },
  "devices.name": { en: "Name", zh: "名称" },
  "devices.address": { en: "SIP address", zh: "SIP 地址" },
  "devices.addressExample": { en: "sip:room@host", zh: "sip:room@host" },
  "devices.location": { en: "Location (optional)", zh: "位置（可选）" },
  "devices.add": { en: "Add", zh: "添加" },
  "devices.added": { en: "Device {name} added.", zh: "已添加设备 {name}。" },
  "devices.list": { en: "Meeting devices", zh: "会议设备" },
  "devices.none": { en: "No meeting devices yet.", zh: "暂无会议设备。" },
  "devices.colLocation": { en: "Location", zh: "位置" },
  "devices.remove": { en: "Remove", zh: "移除" },
  "devices.removeTitle": { en: "Remove {name} from the directory?", zh: "从通讯录中移除 {name}？" },
  "devices.removeText": { en: "Scheduled meetings will not call it any more.", zh: "预约会议将不再呼叫该设备。" },

  // Cloud rooms
  "rooms.list": { en: "Cloud meeting rooms", zh: "云会议室" },
  "rooms.none": { en: "No cloud rooms yet. Members create them from their meeting assistant.", zh: "暂无云会议室。成员可在会议助手中创建。" },
  "rooms.number": { en: "No. {number}", zh: "会议号 {number}" },
  "rooms.members": { en: "Members", zh: "成员" },
  "rooms.membersLabel": { en: "Members: ", zh: "成员：" },
  "rooms.noMembers": { en: "Only its owner", zh: "仅所有者" },
  "rooms.editMembers": { en: "Edit members", zh: "编辑成员" },
  "rooms.removeMember": { en: "Remove {name}", zh: "移除 {name}" },
  "rooms.addMembers": { en: "Add colleagues", zh: "添加同事" },
  "rooms.saved": { en: "Members of {name} saved.", zh: "已保存 {name} 的成员。" },
  "rooms.streaming": { en: "May stream live", zh: "允许直播" },
  "rooms.streamingOf": { en: "{name} may stream live", zh: "允许 {name} 直播" },

  // Licence
  // Recording and live streaming
  "media.recording": { en: "Hosts may record meetings in the cloud", zh: "允许主持人云录制" },
  "media.streaming": { en: "Hosts may stream meetings live", zh: "允许主持人会议直播" },
  "media.notLicensed": { en: "(not included in the licence)", zh: "（许可未包含）" },
  "media.retention": { en: "Keep recordings for (days)", zh: "录制文件保留天数" },
  "media.keptForever": { en: "until deleted", zh: "直至删除" },
  "media.days": { en: "{days} days", zh: "{days} 天" },
  "media.keptNow": { en: "New recordings are kept until someone deletes them.", zh: "新录制的文件将一直保留，直至被删除。" },
  "media.keptDays": { en: "New recordings are kept {days} days.", zh: "新录制的文件保留 {days} 天。" },
  "media.retentionHelp": {
    en: "Leave it empty for the licence's retention; at most {max} days. A change applies to recordings made from now on.",
    zh: "留空则按许可的保留期；最多 {max} 天。修改仅对此后的录制生效。",
  },
  "media.saved": { en: "Saved.", zh: "已保存。" },

  "licence.terms": { en: "Licence", zh: "许可类型" },
  "licence.unlimited": { en: "Unlimited", zh: "不限" },
  "licence.ports": { en: "{ports} participants at once", zh: "并发 {ports} 方" },
  "licence.rooms": { en: "{rooms} meetings at once, {capacity} participants each", zh: "同时 {rooms} 个会议，每个会议 {capacity} 方" },
  "licence.participants": { en: "Participants now", zh: "当前参会人数" },
  "licence.meetings": { en: "Meetings now", zh: "当前会议数" },
  "licence.peakParticipants": { en: "Most participants at once", zh: "参会人数峰值" },
  "licence.peakMeetings": { en: "Most meetings at once", zh: "会议数峰值" },
  "licence.ofLimit": { en: "{used} of {limit}", zh: "{used} / {limit}" },
  "licence.peakAt": { en: "{count} on {time}", zh: "{count}（{time}）" },
  "licence.updated": { en: "Updated {time}; refreshed every 5 seconds.", zh: "更新于 {time}，每 5 秒刷新。" },

  // API keys
  "keys.new": { en: "New API key", zh: "新建 API 密钥" },
  "keys.name": { en: "What it is for", zh: "用途" },
  "keys.scopes": { en: "What it may do", zh: "权限" },
  "keys.create": { en: "Create key", zh: "创建密钥" },
  "keys.pickScope": { en: "Choose at least one permission.", zh: "请至少选择一项权限。" },
  "keys.secretTitle": { en: "The new key “{name}”", zh: "新密钥“{name}”" },
  "keys.shownOnce": {
    en: "Copy it now: it is shown only this once. Keep it secret; it acts for you.",
    zh: "请立即复制：密钥只显示这一次。请妥善保管，它代表你本人操作。",
  },
  "keys.copy": { en: "Copy", zh: "复制" },
  "keys.copied": { en: "Copied.", zh: "已复制。" },
  "keys.copyFailed": { en: "Could not copy: select the key and copy it yourself.", zh: "复制失败：请手动选中并复制密钥。" },
  "keys.list": { en: "Keys", zh: "密钥列表" },
  "keys.none": { en: "No API keys yet.", zh: "暂无 API 密钥。" },
  "keys.colCreated": { en: "Created", zh: "创建时间" },
  "keys.colLastUsed": { en: "Last used", zh: "最近使用" },
  "keys.never": { en: "Never", zh: "从未" },
  "keys.revoke": { en: "Revoke", zh: "吊销" },
  "keys.revokeTitle": { en: "Revoke “{name}”?", zh: "吊销“{name}”？" },
  "keys.revokeText": { en: "Programs using it stop working at once.", zh: "使用该密钥的程序将立即失效。" },
  "scope.profile": { en: "Own profile", zh: "个人资料" },
  "scope.directory_read": { en: "Read the directory", zh: "读取通讯录" },
  "scope.accounts_manage": { en: "Manage accounts and the directory", zh: "管理账号和通讯录" },
  "scope.api_keys_manage": { en: "Manage API keys", zh: "管理 API 密钥" },
  "scope.meetings_read": { en: "Read meetings", zh: "读取会议" },
  "scope.meetings_manage": { en: "Create and change meetings", zh: "创建和修改会议" },
  "scope.webhooks_manage": { en: "Manage webhooks", zh: "管理 Webhook" },
  "scope.audit_read": { en: "Read the audit log and licence use", zh: "读取操作日志和许可使用" },
  "scope.chat": { en: "Group chats of the key's account", zh: "以该账号使用群聊" },

  // Audit log
  "audit.colTime": { en: "Time", zh: "时间" },
  "audit.colWho": { en: "Who", zh: "操作人" },
  "audit.colKey": { en: "Via API key", zh: "API 密钥" },
  "audit.colAction": { en: "Action", zh: "操作" },
  "audit.colDetail": { en: "Detail", zh: "详情" },
  "audit.none": { en: "Nothing recorded yet.", zh: "暂无记录。" },
  "audit.more": { en: "Show older", zh: "加载更早的记录" },
  "audit.end": { en: "That is everything.", zh: "已全部显示。" },
  "audit.account.approved": { en: "Registration approved", zh: "批准注册" },
  "audit.account.rejected": { en: "Registration rejected", zh: "拒绝注册" },
  "audit.account.role_changed": { en: "Role changed", zh: "更改角色" },
  "audit.account.disabled": { en: "Account disabled", zh: "停用账号" },
  "audit.account.enabled": { en: "Account enabled", zh: "启用账号" },
  "audit.department.created": { en: "Department created", zh: "创建部门" },
  "audit.department.changed": { en: "Department changed", zh: "修改部门" },
  "audit.department.deleted": { en: "Department deleted", zh: "删除部门" },
  "audit.directory.provisioned": { en: "Directory synchronised", zh: "同步通讯录" },
  "audit.device.created": { en: "Device added", zh: "添加设备" },
  "audit.device.deleted": { en: "Device removed", zh: "移除设备" },
  "audit.api_key.created": { en: "API key created", zh: "创建 API 密钥" },
  "audit.api_key.revoked": { en: "API key revoked", zh: "吊销 API 密钥" },
  "audit.webhook.created": { en: "Webhook created", zh: "创建 Webhook" },
  "audit.webhook.deleted": { en: "Webhook deleted", zh: "删除 Webhook" },
  "audit.cloud_room.members_changed": { en: "Cloud room members changed", zh: "修改云会议室成员" },
  "audit.cloud_room.streaming_changed": { en: "Cloud room live streaming changed", zh: "修改云会议室直播权限" },
  "audit.media_policy.changed": { en: "Recording and streaming policy changed", zh: "修改录制与直播策略" },
} as const satisfies Record<string, Entry>;

export type StringKey = keyof typeof STRINGS;
export type Params = Readonly<Record<string, string | number>>;

/** Where the chosen language is kept. */
const LANGUAGE_KEY = "yunhui.language";

/** The language to show: a valid override, else Chinese for a `zh*` browser, else English. */
export function pickLanguage(override: string | null | undefined, browser: string | null | undefined): Language {
  if (override === "zh" || override === "en") return override;
  return (browser ?? "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** `template` with each `{name}` replaced by `params.name` (unknown names stay as written). */
export function fill(template: string, params: Params = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The text of `key` in `language`. */
export function translate(language: Language, key: StringKey, params?: Params): string {
  return fill(STRINGS[key][language], params);
}

function storedLanguage(): string | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

/** The choice made in this page, for browsers that keep no storage. */
let chosenHere: Language | null = null;

/** The language the page shows now. */
export function currentLanguage(): Language {
  return pickLanguage(storedLanguage() ?? chosenHere, typeof navigator === "undefined" ? undefined : navigator.language);
}

/** Chooses the language for this browser (kept across visits where storage works). */
export function setLanguage(language: Language): void {
  chosenHere = language;
  try {
    localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // Storage disabled: the choice lasts as long as this page.
  }
}

/** The text of `key` in the current language, with `params` filled in. */
export function t(key: StringKey, params?: Params): string {
  return translate(currentLanguage(), key, params);
}
