// Video layers as the browsers see them: what a publisher sends per simulcast
// layer, and which layer a viewer decodes.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The publisher's video layers by RID (width, bytes sent), once all three are being sent. */
export async function sentLayers(p) {
  const deadline = Date.now() + 30_000;
  let layers = {};
  while (Date.now() < deadline) {
    layers = await p.page.evaluate(async () => {
      const out = {};
      (await window.yunhui.publisherPc.getStats()).forEach((s) => {
        if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) {
          out[s.rid] = { width: s.frameWidth ?? 0, bytesSent: s.bytesSent ?? 0, framesSent: s.framesSent ?? 0, at: Date.now() };
        }
      });
      return out;
    });
    if (["q", "h", "f"].every((rid) => layers[rid]?.bytesSent > 0 && layers[rid]?.width > 0)) return layers;
    await sleep(500);
  }
  throw new Error(`${p.name} does not send three layers: ${JSON.stringify(layers)}`);
}

/** Each layer's send rate in kbit/s over `ms`, with its width. */
export async function layerRates(p, ms = 3000) {
  const before = await sentLayers(p);
  await sleep(ms);
  const after = await sentLayers(p);
  const rates = {};
  for (const rid of ["q", "h", "f"]) {
    const seconds = (after[rid].at - before[rid].at) / 1000;
    rates[rid] = {
      width: after[rid].width,
      kbps: Math.round(((after[rid].bytesSent - before[rid].bytesSent) * 8) / 1000 / seconds),
      fps: (after[rid].framesSent - before[rid].framesSent) / seconds,
    };
  }
  return rates;
}

/**
 * Waits until `viewer` decodes `publisherId`'s video at a width `accept`s, and
 * goes on decoding at it for 1.5 s (more than 5 frames). Returns the width.
 */
export async function decodesAtWidth(viewer, publisherId, accept, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let stalled = "";
  while (Date.now() < deadline) {
    last = await viewer.inboundFrom(publisherId);
    const width = last.video?.frameWidth;
    if (width && accept(width)) {
      await sleep(1500);
      const later = await viewer.inboundFrom(publisherId);
      if (later.video?.frameWidth === width) {
        if (later.video.framesDecoded > last.video.framesDecoded + 5) return width;
        stalled = ` (at width ${width} decoding stalled: ${last.video.framesDecoded} -> ${later.video.framesDecoded} frames)`;
      }
    }
    await sleep(300);
  }
  throw new Error(`${viewer.name} never decoded ${publisherId} at ${what}${stalled}: ${JSON.stringify(last)}`);
}

/** Waits until `viewer` decodes `publisherId`'s video at `width`, and keeps decoding. */
export async function decodesAt(viewer, publisherId, width, timeoutMs = 30_000) {
  await decodesAtWidth(viewer, publisherId, (w) => w === width, `width ${width}`, timeoutMs);
}
