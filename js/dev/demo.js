// Synthetic exported-HTML state for demo.html (see there). Exposes window.demo for tests.
import { mount, link } from "../../src/induction_widgets/static/standalone.js";

const params = new URLSearchParams(location.search);
const N = Number(params.get("n") || 300);
if (params.get("theme") === "dark") document.body.classList.add("dark");

const text =
  "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal, thank you very much.\n";
const words = text.match(/ ?[^ ]+|\n/g);
const hostile = ["</script><img src=x onerror=alert(1)>", "<!--", "\u0000", "\u202eevil", "", "x".repeat(10000), " \n\n "];
const tokens = ["<|endoftext|>"];
for (let i = 1; tokens.length < N; i++) {
  tokens.push(i % 97 === 0 ? hostile[(i / 97) % hostile.length] : words[i % words.length]);
}
const n = tokens.length;
const period = words.length;

async function bytesToB64(bytes, compress) {
  if (compress) {
    const s = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
    bytes = new Uint8Array(await new Response(s).arrayBuffer());
  }
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Synthetic induction pattern of head (l, h): attend to the token after the previous copy. */
function attentionFor(l, h) {
  const A = new Float32Array(n * n);
  const sharp = 0.4 + 0.1 * ((l + h) % 6);
  for (let d = 0; d < n; d++) {
    const row = A.subarray(d * n, d * n + n);
    const target = d - period + 1;
    row[0] = target > 0 ? 1 - sharp : 1;
    if (target > 0) row[target] += sharp * 0.8;
    if (target > 1) row[target - 1] += sharp * 0.2;
  }
  return A;
}
async function trilUint8(A) {
  const packed = new Uint8Array((n * (n + 1)) / 2);
  let k = 0;
  for (let d = 0; d < n; d++) for (let s = 0; s <= d; s++) packed[k++] = Math.round(A[d * n + s] * 255);
  return { dtype: "uint8", shape: [n, n], scale: 1 / 255, offset: 0, layout: "tril", b64: await bytesToB64(packed, true), compression: "deflate" };
}
async function float32(values, shape, compress = true) {
  const b = new Uint8Array(new Float32Array(values).buffer);
  const dict = { dtype: "float32", shape, scale: 1, offset: 0, layout: "dense", b64: await bytesToB64(b, compress) };
  if (compress) dict.compression = "deflate";
  return dict;
}
async function headState(l, h) {
  const A = attentionFor(l, h);
  const L = new Float32Array(n * n);
  for (let d = 0; d < n; d++) {
    for (let s = 0; s <= d; s++) L[d * n + s] = A[d * n + s] * (tokens[s] === tokens[d + 1] ? 3 : -0.5);
  }
  L.fill(NaN, (n - 1) * n);
  const vn = Float32Array.from({ length: n }, (_, i) => (i === 0 ? 0.1 : 1 + (i % 3)));
  return { attention: await trilUint8(A), attribution: await float32(L, [n, n]), value_norm: await float32(vn, [n], false) };
}

const nLayers = 4;
const nHeads = 4;
const embedded = [[1, 2], [2, 0], [3, 3]];
const store = {};
for (const [l, h] of embedded) store[`${l}.${h}`] = await headState(l, h);

const copying = Float32Array.from({ length: nLayers * nHeads }, (_, i) => ((i * 37) % 16) / 16);
const prefix = Float32Array.from({ length: nLayers * nHeads }, (_, i) => ((i * 11) % 16) / 15);
const verdicts = Array.from(copying, (c, i) => (c > 0.5 && prefix[i] > 0.5 ? "induction head" : ""));
const colon = tokens.map((t) => (t && t.includes(",") ? 1 : 0));

const t0 = performance.now();
const hm = await mount(document.getElementById("head_map"), "head_map", {
  scores: { copying: await float32(copying, [nLayers, nHeads]), prefix_matching: await float32(prefix, [nLayers, nHeads]) },
  score: "prefix_matching",
  score_names: ["copying", "prefix_matching"],
  verdicts,
  selected_head: [1, 2],
  n_layers: nLayers,
  n_heads: nHeads,
  message: "",
  title: "Head map <b>not bold</b>",
});
const base = { tokens, layer: 1, head: 2, n_layers: nLayers, n_heads: nHeads, heads_available: embedded, message: "", title: "Synthetic head" };
const tv = await mount(document.getElementById("token_view"), "token_view", {
  ...base,
  ...store["1.2"],
  bos: true,
  mode: "attention",
  selected_is: "destination",
  value_weighted: false,
  dst_mask: params.get("mask") ? await float32(colon, [n]) : {},
  src_mask: {},
  output_mask: {},
  selected: -1,
}, store);
const am = await mount(document.getElementById("attention_matrix"), "attention_matrix", {
  ...base,
  ...store["1.2"],
  heads_available: [],
  mode: "attention",
}, store);
link(hm, "selected_head", tv);
link(hm, "selected_head", am);
window.demo = { hm, tv, am, tokens, mountMs: performance.now() - t0, ready: true };
