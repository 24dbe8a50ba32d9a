// Command lkfanout is the LiveKit side of Yunhui's side-by-side SFU
// benchmark (bench/sfu-side-by-side): the same scenario as
// services/sfu/benches/fanout.rs, against a running livekit-server.
//
// One publisher sends synthetic VP8 (720p keyframe headers, 30 frames/s, a
// keyframe every 3 s, at --video-bitrate, cut into RTP payloads of at most
// 1100 bytes like the Rust SDK's synthetic publisher) and Opus (80-byte
// payloads, 50 packets/s, audio-level extension), without simulcast. N
// subscribers receive every packet of both tracks and count it; nothing is
// decoded. After --warmup seconds it measures a window of --seconds:
//
//   - the server's CPU time (user + system) from /proc/<--pid>/stat,
//   - forwarded packets from the server's own Prometheus counter
//     livekit_packet_total{direction="outgoing"} (initial and retransmitted;
//     each down track adds its count every 5 s, so the window starts between
//     two reports and should be a multiple of 5 s),
//   - the packets the subscribers received,
//   - the server's VmRSS and VmHWM at the end of the window, and
//   - the forwarding-delay quantiles of livekit_forward_latency_ns, when the
//     server has rtc.forward_stats configured.
//
// The API key and secret, the signalling port and the Prometheus port are
// read from the server's own YAML configuration (--config), which the runner
// writes; tokens are made with LiveKit's auth package.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/yaml.v3"
)

const (
	maxPayload      = 1100
	videoFPS        = 30
	keyframeEvery   = 3 * time.Second
	audioPayload    = 80
	audioPerSecond  = 50
	audioLevel      = 30
	frameWidth      = 1280
	frameHeight     = 720
	ticksPerSecond  = 100.0 // USER_HZ
	latencyMetric   = "livekit_forward_latency_ns_bucket"
	packetsMetric   = "livekit_packet_total"
	joinConcurrency = 4
)

// serverConfig is the part of livekit-server's YAML configuration the
// client needs.
type serverConfig struct {
	Port       uint32            `yaml:"port"`
	Keys       map[string]string `yaml:"keys"`
	Prometheus struct {
		Port uint32 `yaml:"port"`
	} `yaml:"prometheus"`
}

func main() {
	configPath := flag.String("config", "", "livekit-server YAML configuration (keys, port, prometheus.port)")
	pid := flag.Int("pid", 0, "livekit-server process id, for its CPU time and memory")
	subscribers := flag.Int("subscribers", 10, "number of subscribers")
	seconds := flag.Int("seconds", 30, "length of the measured window in seconds (a multiple of 5)")
	warmup := flag.Int("warmup", 5, "seconds between the last subscriber's tracks and the window")
	bitrate := flag.Int("video-bitrate", 1_500_000, "video bitrate in bits per second")
	room := flag.String("room", "", "room name (default bench-<subscribers>)")
	results := flag.String("results", "", "append one line of key=value figures to this file")
	verbose := flag.Bool("verbose", false, "keep the SDK's log")
	flag.Parse()
	if *configPath == "" || *pid == 0 {
		fail("--config and --pid are required")
	}
	if !*verbose {
		lksdk.SetLogger(protologger.GetDiscardLogger())
	}
	if *room == "" {
		*room = fmt.Sprintf("bench-%d", *subscribers)
	}
	conf := readConfig(*configPath)
	var key, secret string
	for k, s := range conf.Keys {
		key, secret = k, s
	}
	url := fmt.Sprintf("ws://127.0.0.1:%d", conf.Port)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", conf.Prometheus.Port)

	token := func(identity string, publish bool) string {
		at := auth.NewAccessToken(key, secret)
		grant := &auth.VideoGrant{RoomJoin: true, Room: *room}
		grant.SetCanPublish(publish)
		grant.SetCanSubscribe(!publish)
		grant.SetCanPublishData(false)
		at.SetVideoGrant(grant).SetIdentity(identity).SetValidFor(time.Hour)
		jwt, err := at.ToJWT()
		check(err, "token")
		return jwt
	}

	// Publisher.
	pub, err := lksdk.ConnectToRoomWithToken(url, token("publisher", true), &lksdk.RoomCallback{},
		lksdk.WithAutoSubscribe(false))
	check(err, "publisher join")
	defer pub.Disconnect()
	video, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
	check(err, "video track")
	audio, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	check(err, "audio track")
	_, err = pub.LocalParticipant.PublishTrack(video, &lksdk.TrackPublicationOptions{
		Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: frameWidth, VideoHeight: frameHeight,
	})
	check(err, "publish video")
	_, err = pub.LocalParticipant.PublishTrack(audio, &lksdk.TrackPublicationOptions{
		Name: "microphone", Source: livekit.TrackSource_MICROPHONE,
	})
	check(err, "publish audio")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var sent atomic.Uint64
	go sendVideo(ctx, video, *bitrate, &sent)
	go sendAudio(ctx, audio, &sent)

	// Subscribers: each counts every packet of every track it is given.
	var received atomic.Uint64
	var tracks atomic.Int64
	subs := make([]*lksdk.Room, *subscribers)
	var wg sync.WaitGroup
	slots := make(chan struct{}, joinConcurrency)
	joinStart := time.Now()
	for i := range subs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{
				OnTrackSubscribed: func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
					tracks.Add(1)
					go func() {
						buf := make([]byte, 1500)
						for {
							if _, _, err := track.Read(buf); err != nil {
								return
							}
							received.Add(1)
						}
					}()
				},
			}}
			r, err := lksdk.ConnectToRoomWithToken(url, token(fmt.Sprintf("subscriber-%d", i), false), cb)
			check(err, "subscriber join")
			subs[i] = r
		}()
	}
	wg.Wait()
	want := int64(2 * *subscribers)
	deadline := time.Now().Add(60 * time.Second)
	for tracks.Load() < want {
		if time.Now().After(deadline) {
			fail(fmt.Sprintf("only %d of %d subscribed tracks after 60 s", tracks.Load(), want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	joined := time.Since(joinStart)
	time.Sleep(time.Duration(*warmup) * time.Second)
	alignToReports(metricsURL)

	// The window.
	cpu0 := cpuSeconds(*pid)
	m0 := scrape(metricsURL)
	recv0, sent0 := received.Load(), sent.Load()
	t0 := time.Now()
	time.Sleep(time.Duration(*seconds) * time.Second)
	elapsed := time.Since(t0).Seconds()
	cpu1 := cpuSeconds(*pid)
	m1 := scrape(metricsURL)
	recv1, sent1 := received.Load(), sent.Load()
	rss, hwm := memory(*pid)

	forwarded := m1.outgoing - m0.outgoing
	cpu := cpu1 - cpu0
	fig := figures{
		server:        "livekit",
		subscribers:   *subscribers,
		seconds:       elapsed,
		publishedPPS:  float64(sent1-sent0) / elapsed,
		forwardedPPS:  forwarded / elapsed,
		deliveredPPS:  float64(recv1-recv0) / elapsed,
		retransmitted: (m1.retransmit - m0.retransmit) / elapsed,
		cpuPerMillion: cpu / forwarded * 1e6,
		cores:         cpu / elapsed,
		rssMiB:        rss,
		hwmMiB:        hwm,
		p50us:         quantile(m0.latency, m1.latency, 0.50) / 1e3,
		p99us:         quantile(m0.latency, m1.latency, 0.99) / 1e3,
		joinSeconds:   joined.Seconds(),
	}
	fmt.Println("| subscribers | forwarded pkt/s | delivered pkt/s | SFU CPU-s per 1M pkts | SFU CPU (cores) | RSS / peak (MiB) | delay p50 (µs) | delay p99 (µs) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Printf("| %d | %.0f | %.0f | %.2f | %.3f | %.1f / %.1f | %.1f | %.1f |\n",
		fig.subscribers, fig.forwardedPPS, fig.deliveredPPS, fig.cpuPerMillion, fig.cores,
		fig.rssMiB, fig.hwmMiB, fig.p50us, fig.p99us)
	if *results != "" {
		f, err := os.OpenFile(*results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		check(err, "results file")
		_, err = fmt.Fprintln(f, fig.line())
		check(err, "results file")
		check(f.Close(), "results file")
	}

	stop()
	for _, r := range subs {
		r.Disconnect()
	}
}

type figures struct {
	server        string
	subscribers   int
	seconds       float64
	publishedPPS  float64
	forwardedPPS  float64
	deliveredPPS  float64
	retransmitted float64
	cpuPerMillion float64
	cores         float64
	rssMiB        float64
	hwmMiB        float64
	p50us         float64
	p99us         float64
	joinSeconds   float64
}

// line is the machine-readable form the runner reads (the same keys as the
// Rust fan-out bench writes).
func (f figures) line() string {
	return fmt.Sprintf("server=%s subscribers=%d seconds=%.1f published_pps=%.1f forwarded_pps=%.1f delivered_pps=%.1f "+
		"retransmitted_pps=%.1f cpu_per_million=%.3f cores=%.4f rss_mib=%.1f hwm_mib=%.1f p50_us=%.1f p99_us=%.1f join_s=%.2f",
		f.server, f.subscribers, f.seconds, f.publishedPPS, f.forwardedPPS, f.deliveredPPS,
		f.retransmitted, f.cpuPerMillion, f.cores, f.rssMiB, f.hwmMiB, f.p50us, f.p99us, f.joinSeconds)
}

// vp8Frame is a VP8 frame shaped well enough for an SFU's parser: a frame
// tag and, on keyframes, the start code and the picture's dimensions.
func vp8Frame(size int, keyframe bool) []byte {
	size = max(size, 16)
	frame := make([]byte, size)
	firstPartition := uint32(min(size/2, 0x7ffff))
	tag := uint32(1<<4) | firstPartition<<5 // version 0, show_frame
	if !keyframe {
		tag |= 1
	}
	frame[0], frame[1], frame[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if keyframe {
		copy(frame[3:6], []byte{0x9d, 0x01, 0x2a})
		frame[6], frame[7] = byte(frameWidth&0xff), byte(frameWidth>>8)
		frame[8], frame[9] = byte(frameHeight&0xff), byte(frameHeight>>8)
	}
	return frame
}

func sendVideo(ctx context.Context, track *lksdk.LocalTrack, bitrate int, sent *atomic.Uint64) {
	frameBytes := bitrate / 8 / videoFPS
	seq := uint16(rand.Uint32())
	ts := rand.Uint32()
	pictureID := uint16(rand.Uint32()) & 0x7fff
	var lastKeyframe time.Time
	tick := time.NewTicker(time.Second / videoFPS)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		keyframe := time.Since(lastKeyframe) >= keyframeEvery
		size := frameBytes
		if keyframe {
			size *= 3
			lastKeyframe = time.Now()
		}
		frame := vp8Frame(size, keyframe)
		for at := 0; at < len(frame); at += maxPayload {
			end := min(at+maxPayload, len(frame))
			// VP8 payload descriptor with a 15-bit picture id, as browsers
			// send it: X, S on the frame's first packet, partition 0; I; M.
			first := byte(0x80)
			if at == 0 {
				first |= 0x10
			}
			payload := make([]byte, 0, 4+end-at)
			payload = append(payload, first, 0x80, 0x80|byte(pictureID>>8), byte(pictureID))
			payload = append(payload, frame[at:end]...)
			err := track.WriteRTP(&rtp.Packet{
				Header: rtp.Header{
					Version:        2,
					Marker:         end == len(frame),
					SequenceNumber: seq,
					Timestamp:      ts,
				},
				Payload: payload,
			}, nil)
			if err == nil {
				sent.Add(1)
			}
			seq++
		}
		pictureID = (pictureID + 1) & 0x7fff
		ts += 90000 / videoFPS
	}
}

func sendAudio(ctx context.Context, track *lksdk.LocalTrack, sent *atomic.Uint64) {
	seq := uint16(rand.Uint32())
	ts := rand.Uint32()
	level := uint8(audioLevel)
	payload := make([]byte, audioPayload)
	payload[0] = 0x78 // Opus TOC: SILK/CELT hybrid FB, 20 ms, one frame
	tick := time.NewTicker(time.Second / audioPerSecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts},
			Payload: payload,
		}, &lksdk.SampleWriteOptions{AudioLevel: &level})
		if err == nil {
			sent.Add(1)
		}
		seq++
		ts += 48000 / audioPerSecond
	}
}

// cpuSeconds is the user + system time the process has used.
func cpuSeconds(pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err, "read /proc stat")
	s := string(stat)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	fields := strings.Fields(rest)
	// Fields 14 and 15 (utime, stime), counted after the command name.
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / ticksPerSecond
}

// memory is the process's VmRSS and VmHWM in MiB.
func memory(pid int) (rss, hwm float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	check(err, "read /proc status")
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kib / 1024
		case "VmHWM:":
			hwm = kib / 1024
		}
	}
	return rss, hwm
}

// alignToReports waits for the outgoing-packets counter to move, then half
// a report period more. Down tracks that joined together report together,
// so the counter moves in steps every 5 s; a window that starts between two
// steps and lasts a multiple of 5 s holds exactly one report per period of
// each track, however late the server's tickers fire.
func alignToReports(url string) {
	start := scrape(url).outgoing
	for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if scrape(url).outgoing != start {
			break
		}
	}
	time.Sleep(2500 * time.Millisecond)
}

type bucket struct{ le, count float64 }

type metrics struct {
	outgoing   float64
	retransmit float64
	latency    []bucket
}

// scrape reads the counters the benchmark needs from the server's
// Prometheus endpoint.
func scrape(url string) metrics {
	resp, err := http.Get(url)
	check(err, "metrics")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	check(err, "metrics")
	var m metrics
	for _, line := range strings.Split(string(body), "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case packetsMetric:
			if strings.Contains(labels, `direction="outgoing"`) {
				m.outgoing += v
				if strings.Contains(labels, `transmission="retransmit"`) {
					m.retransmit += v
				}
			}
		case latencyMetric:
			_, le, _ := strings.Cut(labels, `le="`)
			le, _, _ = strings.Cut(le, `"`)
			bound := math.Inf(1)
			if le != "+Inf" {
				bound, _ = strconv.ParseFloat(le, 64)
			}
			m.latency = append(m.latency, bucket{bound, v})
		}
	}
	return m
}

// quantile is the q quantile of the difference of two cumulative
// histograms, interpolated linearly inside the bucket (as fanout.rs does).
func quantile(before, after []bucket, q float64) float64 {
	if len(before) != len(after) || len(after) == 0 {
		return math.NaN()
	}
	total := after[len(after)-1].count - before[len(before)-1].count
	if total <= 0 {
		return math.NaN()
	}
	target := q * total
	lowerLe, lowerCount := 0.0, 0.0
	for i := range after {
		cumulative := after[i].count - before[i].count
		if cumulative >= target {
			if math.IsInf(after[i].le, 1) {
				return lowerLe
			}
			frac := 1.0
			if in := cumulative - lowerCount; in > 0 {
				frac = (target - lowerCount) / in
			}
			return lowerLe + (after[i].le-lowerLe)*frac
		}
		lowerLe, lowerCount = after[i].le, cumulative
	}
	return lowerLe
}

func readConfig(path string) serverConfig {
	data, err := os.ReadFile(path)
	check(err, "read config")
	var c serverConfig
	check(yaml.Unmarshal(data, &c), "parse config")
	if len(c.Keys) != 1 || c.Port == 0 || c.Prometheus.Port == 0 {
		fail("the config needs one key, port and prometheus.port")
	}
	return c
}

func check(err error, what string) {
	if err != nil {
		fail(fmt.Sprintf("%s: %v", what, err))
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "lkfanout:", msg)
	os.Exit(1)
}
