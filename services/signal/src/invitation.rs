//! The invitation text people paste into chats and mails, in the format of
//! the manual's section 3.5.6.2 ("复制会议信息"), in Chinese and English:
//! inviter, topic, number, password, time zone, start, duration, the
//! repetition of a series, the join link and the meeting number, then only
//! what the site offers: phone numbers when it has dial-in numbers, and the
//! address H.323/SIP devices dial when it runs the SIP gateway.

use chrono::{DateTime, Offset};
use chrono_tz::Tz;
use yunhui_proto::schedule::{Frequency, Recurrence, Weekday};

/// Language of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Simplified Chinese, as in the manual.
    Zh,
    /// English.
    En,
}

impl Language {
    /// Parses `zh` or `en` (the `lang` query parameter).
    pub fn parse(code: &str) -> Option<Language> {
        match code.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Language::Zh),
            "en" | "en-us" | "en-gb" => Some(Language::En),
            _ => None,
        }
    }
}

/// What an invitation tells.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// Name of the host who invites.
    pub inviter: &'a str,
    /// Meeting topic.
    pub topic: &'a str,
    /// Meeting number.
    pub number: &'a str,
    /// Password, if any.
    pub password: Option<&'a str>,
    /// Start of the (first) occurrence, in the meeting's zone.
    pub start: DateTime<Tz>,
    /// Length in minutes.
    pub duration_minutes: u32,
    /// Repetition of a series.
    pub recurrence: Option<&'a Recurrence>,
    /// Link that joins without typing number or password.
    pub join_url: &'a str,
    /// Host name H.323/SIP devices dial (`number@host`); `None` when the
    /// site runs no SIP gateway.
    pub sip_host: Option<&'a str>,
    /// Phone numbers that reach the meeting (enter the meeting number after
    /// the call is answered); empty when the site has none.
    pub phone_numbers: &'a [String],
}

impl Invitation<'_> {
    /// The text in `lang`.
    pub fn render(&self, lang: Language) -> String {
        let zone = self.start.timezone();
        let offset = gmt_offset(&self.start);
        let number = self.number;
        let lines: Vec<String> = match lang {
            Language::Zh => {
                let password = self.password.unwrap_or("无");
                let mut lines = vec![
                    "您好:".to_string(),
                    format!("{}邀请您参加一个云视频会议", self.inviter),
                    format!("会议主题：{}", self.topic),
                    format!("会议号:{number}"),
                    format!("会议密码：{password}"),
                    format!("时区:({}):{offset}", zone_name(zone, lang)),
                    format!(
                        "会议开始时间：{}",
                        self.start.format("%Y 年 %m 月 %d 日 %H:%M")
                    ),
                    format!("会议时长：{}", duration(self.duration_minutes, lang)),
                ];
                if let Some(r) = self.recurrence {
                    lines.push(format!("重复周期：{}", repetition(r, lang)));
                }
                lines.extend([
                    "在 PC、Mac、iPhone、安卓手机上登录云会客户端，选取该会议，您可以直接入会"
                        .to_string(),
                    "或点击下面链接即可轻松入会:".to_string(),
                    self.join_url.to_string(),
                    format!("如果您未登录云会客户端，也可以输入会议号快速入会:{number}"),
                ]);
                if !self.phone_numbers.is_empty() {
                    lines.push(format!(
                        "电话拨入：{}，接通后按提示输入会议号 {number}#",
                        self.phone_numbers.join("、")
                    ));
                }
                if let Some(host) = self.sip_host {
                    lines.extend([
                        "通过 H.323/SIP 设备加会：".to_string(),
                        "直接入会:".to_string(),
                        format!("会议号：{number}"),
                        format!("会议密码：{password}"),
                        format!("拨入：{number}@{host};"),
                    ]);
                }
                lines
            }
            Language::En => {
                let password = self.password.unwrap_or("none");
                let mut lines = vec![
                    "Hello,".to_string(),
                    format!("{} is inviting you to a video meeting.", self.inviter),
                    format!("Topic: {}", self.topic),
                    format!("Meeting number: {number}"),
                    format!("Password: {password}"),
                    format!("Time zone: ({}) {offset}", zone_name(zone, lang)),
                    format!("Start: {}", self.start.format("%Y-%m-%d %H:%M")),
                    format!("Duration: {}", duration(self.duration_minutes, lang)),
                ];
                if let Some(r) = self.recurrence {
                    lines.push(format!("Repeats: {}", repetition(r, lang)));
                }
                lines.extend([
                    "Sign in to the Yunhui client on PC, Mac, iPhone or Android and pick this meeting to join it directly,".to_string(),
                    "or join with one click on this link:".to_string(),
                    self.join_url.to_string(),
                    format!("Not signed in? Join quickly with the meeting number: {number}"),
                ]);
                if !self.phone_numbers.is_empty() {
                    lines.push(format!(
                        "Join by phone: {}, then enter the meeting number {number}#",
                        self.phone_numbers.join(", ")
                    ));
                }
                if let Some(host) = self.sip_host {
                    lines.extend([
                        "Join from an H.323/SIP device:".to_string(),
                        format!("Meeting number: {number}"),
                        format!("Password: {password}"),
                        format!("Dial: {number}@{host}"),
                    ]);
                }
                lines
            }
        };
        let mut text = lines.join("\n\n");
        text.push('\n');
        text
    }
}

/// `GMT+0800` at the given instant (so a DST zone shows its summer offset
/// for a summer meeting).
fn gmt_offset(at: &DateTime<Tz>) -> String {
    let secs = at.offset().fix().local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("GMT{sign}{:02}{:02}", secs / 3600, secs % 3600 / 60)
}

/// A zone's everyday name where one is well known, else its IANA id.
fn zone_name(zone: Tz, lang: Language) -> String {
    const NAMES: &[(&str, &str, &str)] = &[
        ("Asia/Shanghai", "中国标准时间", "China Standard Time"),
        ("Asia/Chongqing", "中国标准时间", "China Standard Time"),
        ("Asia/Urumqi", "新疆时间", "Xinjiang Time"),
        ("Asia/Hong_Kong", "香港时间", "Hong Kong Time"),
        ("Asia/Macau", "澳门时间", "Macau Time"),
        ("Asia/Taipei", "台北时间", "Taipei Time"),
        ("Asia/Tokyo", "日本标准时间", "Japan Standard Time"),
        ("Asia/Seoul", "韩国标准时间", "Korea Standard Time"),
        ("Asia/Singapore", "新加坡时间", "Singapore Time"),
        ("Europe/Berlin", "中欧时间", "Central European Time"),
        ("Europe/Paris", "中欧时间", "Central European Time"),
        ("Europe/London", "英国时间", "UK Time"),
        ("America/New_York", "美国东部时间", "US Eastern Time"),
        ("America/Los_Angeles", "美国太平洋时间", "US Pacific Time"),
        ("UTC", "协调世界时", "Coordinated Universal Time"),
    ];
    let id = zone.name();
    NAMES
        .iter()
        .find(|(name, _, _)| *name == id)
        .map(|(_, zh, en)| match lang {
            Language::Zh => format!("{zh} {id}"),
            Language::En => format!("{en}, {id}"),
        })
        .unwrap_or_else(|| id.to_string())
}

fn duration(minutes: u32, lang: Language) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match lang {
        Language::Zh => match (h, m) {
            (0, m) => format!("{m} 分钟"),
            (h, 0) => format!("{h} 小时"),
            (h, m) => format!("{h} 小时 {m} 分钟"),
        },
        Language::En => {
            let hours = match h {
                1 => "1 hour".to_string(),
                h => format!("{h} hours"),
            };
            match (h, m) {
                (0, m) => format!("{m} minutes"),
                (_, 0) => hours,
                (_, m) => format!("{hours} {m} minutes"),
            }
        }
    }
}

fn repetition(r: &Recurrence, lang: Language) -> String {
    let n = r.interval;
    let until = r.until.as_str();
    match lang {
        Language::Zh => {
            let days: Vec<&str> = r.weekdays.iter().map(|d| weekday_zh(*d)).collect();
            let day = r.day_of_month.unwrap_or(1);
            let rule = match (r.frequency, n) {
                (Frequency::Daily, 1) => "每天".to_string(),
                (Frequency::Daily, n) => format!("每 {n} 天"),
                (Frequency::Weekly, 1) => format!("每{}", days.join("、")),
                (Frequency::Weekly, n) => format!("每 {n} 周的{}", days.join("、")),
                (Frequency::Monthly, 1) => format!("每月 {day} 日"),
                (Frequency::Monthly, n) => format!("每 {n} 个月的 {day} 日"),
            };
            let until = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d")
                .map(|d| d.format("%Y 年 %m 月 %d 日").to_string())
                .unwrap_or_else(|_| until.to_string());
            format!("{rule}，至 {until}")
        }
        Language::En => {
            let days: Vec<&str> = r.weekdays.iter().map(|d| weekday_en(*d)).collect();
            let day = r.day_of_month.unwrap_or(1);
            let rule = match (r.frequency, n) {
                (Frequency::Daily, 1) => "every day".to_string(),
                (Frequency::Daily, n) => format!("every {n} days"),
                (Frequency::Weekly, 1) => format!("weekly on {}", days.join(", ")),
                (Frequency::Weekly, n) => format!("every {n} weeks on {}", days.join(", ")),
                (Frequency::Monthly, 1) => format!("monthly on day {day}"),
                (Frequency::Monthly, n) => format!("every {n} months on day {day}"),
            };
            format!("{rule}, until {until}")
        }
    }
}

fn weekday_zh(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "周一",
        Weekday::Tue => "周二",
        Weekday::Wed => "周三",
        Weekday::Thu => "周四",
        Weekday::Fri => "周五",
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
    }
}

fn weekday_en(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample(recurrence: Option<&Recurrence>) -> Invitation<'_> {
        Invitation {
            inviter: "李明",
            topic: "李明的预约会议",
            number: "110244105",
            password: None,
            start: chrono_tz::Asia::Shanghai
                .with_ymd_and_hms(2027, 10, 1, 17, 0, 0)
                .unwrap(),
            duration_minutes: 60,
            recurrence,
            join_url: "https://meet.example.com/j/110244105?k=abc",
            sip_host: None,
            phone_numbers: &[],
        }
    }

    /// The whole text without the SIP gateway or phone numbers.
    const WEB_ONLY_ZH: &str = "您好:\n\n李明邀请您参加一个云视频会议\n\n会议主题：李明的预约会议\n\n会议号:110244105\n\n会议密码：无\n\n时区:(中国标准时间 Asia/Shanghai):GMT+0800\n\n会议开始时间：2027 年 10 月 01 日 17:00\n\n会议时长：1 小时\n\n在 PC、Mac、iPhone、安卓手机上登录云会客户端，选取该会议，您可以直接入会\n\n或点击下面链接即可轻松入会:\n\nhttps://meet.example.com/j/110244105?k=abc\n\n如果您未登录云会客户端，也可以输入会议号快速入会:110244105\n";

    #[test]
    fn without_a_sip_gateway_no_device_lines() {
        assert_eq!(sample(None).render(Language::Zh), WEB_ONLY_ZH);
        let en = sample(None).render(Language::En);
        assert!(
            !en.contains("H.323") && !en.contains("Dial") && !en.contains("phone"),
            "{en}"
        );
    }

    #[test]
    fn with_the_sip_gateway_devices_dial_number_at_host() {
        let mut inv = sample(None);
        inv.sip_host = Some("meet.example.com");
        let expected = format!(
            "{WEB_ONLY_ZH}\n通过 H.323/SIP 设备加会：\n\n直接入会:\n\n会议号：110244105\n\n会议密码：无\n\n拨入：110244105@meet.example.com;\n"
        );
        assert_eq!(inv.render(Language::Zh), expected);
        let en = inv.render(Language::En);
        assert!(
            en.ends_with("Join from an H.323/SIP device:\n\nMeeting number: 110244105\n\nPassword: none\n\nDial: 110244105@meet.example.com\n"),
            "{en}"
        );
    }

    #[test]
    fn phone_numbers_only_when_the_site_has_them() {
        let numbers = ["+86 10 8888 0000".to_string(), "400 800 0000".to_string()];
        let mut inv = sample(None);
        inv.phone_numbers = &numbers;
        let expected = format!(
            "{WEB_ONLY_ZH}\n电话拨入：+86 10 8888 0000、400 800 0000，接通后按提示输入会议号 110244105#\n"
        );
        assert_eq!(inv.render(Language::Zh), expected);
        assert!(
            inv.render(Language::En).ends_with(
                "Join by phone: +86 10 8888 0000, 400 800 0000, then enter the meeting number 110244105#\n"
            )
        );
    }

    #[test]
    fn chinese_text_follows_the_manual() {
        let text = sample(None).render(Language::Zh);
        for line in [
            "您好:",
            "李明邀请您参加一个云视频会议",
            "会议主题：李明的预约会议",
            "会议号:110244105",
            "会议密码：无",
            "时区:(中国标准时间 Asia/Shanghai):GMT+0800",
            "会议开始时间：2027 年 10 月 01 日 17:00",
            "会议时长：1 小时",
            "https://meet.example.com/j/110244105?k=abc",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("重复周期"));
    }

    #[test]
    fn series_and_summer_offset() {
        let r = Recurrence {
            frequency: Frequency::Weekly,
            interval: 1,
            weekdays: vec![Weekday::Tue, Weekday::Thu],
            day_of_month: None,
            until: "2027-12-31".into(),
        };
        let mut inv = sample(Some(&r));
        inv.start = chrono_tz::Europe::Berlin
            .with_ymd_and_hms(2027, 7, 6, 9, 30, 0)
            .unwrap();
        inv.duration_minutes = 90;
        let zh = inv.render(Language::Zh);
        assert!(
            zh.contains("时区:(中欧时间 Europe/Berlin):GMT+0200"),
            "{zh}"
        );
        assert!(
            zh.contains("重复周期：每周二、周四，至 2027 年 12 月 31 日"),
            "{zh}"
        );
        assert!(zh.contains("会议时长：1 小时 30 分钟"), "{zh}");
        let en = inv.render(Language::En);
        assert!(
            en.contains("Time zone: (Central European Time, Europe/Berlin) GMT+0200"),
            "{en}"
        );
        assert!(
            en.contains("Repeats: weekly on Tuesday, Thursday, until 2027-12-31"),
            "{en}"
        );
        assert!(en.contains("Duration: 1 hour 30 minutes"), "{en}");
    }
}
