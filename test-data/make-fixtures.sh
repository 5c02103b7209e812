#!/usr/bin/env bash
# Rebuilds the committed test fixtures under test-data/ from Debian's Fashion-MNIST package.
#
# Needs (only to regenerate; the build and the tests never run this): the Debian package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz), python3 (standard library only),
# ImageMagick 6 (/usr/bin/convert; apt-get install imagemagick), and Maven for the TFRecord step.
#
#   test-data/make-fixtures.sh            # from the repository root
#
# What it makes:
#   fashion-mnist/   the first 5000 training and first 1000 test images + labels, gzip IDX files
#                    with the original names (header counts rewritten, data bytes untouched)
#   images/<class>/  12 test images of three classes in assorted encodings (see the table below)
#   tfrecord/fmnist-small.tfrecord  the first 64 test images as PNG tf.train.Examples, written by
#                    mimtf's own TfRecordWriter (test-scope main FixtureWriter)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
OUT=test-data
CONVERT=/usr/bin/convert   # the real ImageMagick, not a stand-in that may sit earlier on PATH
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$OUT/fashion-mnist" "$OUT/tfrecord"
rm -rf "$OUT/images"

# 1. Cut the IDX files: keep the first N records, patch the count in the header. gzip with mtime 0
#    and no file name so that reruns give identical bytes.
# 2. Write the first 4 test images of classes 8 (bag), 7 (sneaker), 1 (trouser) as 28x28 PGM.
python3 - "$SRC" "$OUT/fashion-mnist" "$TMP" <<'PY'
import gzip, struct, sys
src, out, tmp = sys.argv[1:4]

def cut(name, n):
    data = gzip.open(f"{src}/{name}").read()
    magic, count = struct.unpack(">II", data[:8])
    ndims = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    per = 1
    for d in dims[1:]:
        per *= d
    head = 4 + 4 * ndims
    body = data[head:head + n * per]
    new = struct.pack(">I", magic) + struct.pack(">I", n) + data[8:head] + body
    with open(f"{out}/{name}", "wb") as f:
        f.write(gzip.compress(new, compresslevel=9, mtime=0))
    return data

cut("train-images-idx3-ubyte.gz", 5000)
cut("train-labels-idx1-ubyte.gz", 5000)
images = cut("t10k-images-idx3-ubyte.gz", 1000)
labels = cut("t10k-labels-idx1-ubyte.gz", 1000)

for cls, name in [(8, "bag"), (7, "sneaker"), (1, "trouser")]:
    picked = [i for i in range(1000) if labels[8 + i] == cls][:4]
    for k, i in enumerate(picked):
        px = images[16 + i * 784:16 + (i + 1) * 784]
        with open(f"{tmp}/{name}{k}.pgm", "wb") as f:
            f.write(b"P5\n28 28\n255\n" + px)
        print(f"{name}{k}: t10k #{i}")
PY

# 3. Encode them. -strip drops timestamps and other metadata (reproducible bytes); tint() turns the
#    gray garment into a two-colour RGB image so that RGB files really carry colour.
tint() { echo "-colorspace sRGB -type TrueColor +level-colors #1e3c78,#f0b45a"; }
mk() { mkdir -p "$(dirname "$OUT/images/$1")"; }

mk bag/x
# file                                 what it exercises
$CONVERT "$TMP/bag0.pgm" $(tint) -strip -quality 92 "$OUT/images/bag/bag-00-rgb-baseline.jpg"           # baseline YCbCr JPEG
$CONVERT "$TMP/bag1.pgm" -strip -colorspace Gray -type Grayscale -quality 92 "$OUT/images/bag/bag-01-gray.jpg"  # 1-component JPEG
$CONVERT "$TMP/bag2.pgm" $(tint) -strip -interlace JPEG -quality 90 "$OUT/images/bag/bag-02-progressive.jpg"    # progressive JPEG
$CONVERT "$TMP/bag3.pgm" $(tint) -strip -colorspace CMYK -quality 95 "$OUT/images/bag/bag-03-cmyk.jpg"          # 4-component (Adobe) JPEG

mk sneaker/x
$CONVERT "$TMP/sneaker0.pgm" $(tint) -strip -colors 16 "PNG8:$OUT/images/sneaker/sneaker-00-palette.png"       # palette PNG
$CONVERT "$TMP/sneaker1.pgm" $(tint) -strip -alpha set -channel A -evaluate set 50% +channel \
  "PNG32:$OUT/images/sneaker/sneaker-01-rgba.png"                                                             # RGBA PNG
$CONVERT "$TMP/sneaker2.pgm" -strip -depth 16 -define png:bit-depth=16 -define png:color-type=0 \
  "$OUT/images/sneaker/sneaker-02-gray16.png"                                                                 # 16-bit gray PNG
$CONVERT "$TMP/sneaker3.pgm" -strip -define png:color-type=0 "$OUT/images/sneaker/sneaker-03-gray.png"          # 8-bit gray PNG

mk trouser/x
$CONVERT "$TMP/trouser0.pgm" $(tint) -strip -resize '40x23!' -quality 90 "$OUT/images/trouser/trouser-00-40x23.jpg"   # odd size, wide
$CONVERT "$TMP/trouser1.pgm" "$TMP/trouser2.pgm" -strip -delay 50 -loop 0 $(tint) "$OUT/images/trouser/trouser-01-anim.gif"  # 2-frame GIF
$CONVERT "$TMP/trouser2.pgm" $(tint) -strip -resize '17x31!' "BMP3:$OUT/images/trouser/trouser-02-17x31.bmp"         # 24-bit BMP, odd size
$CONVERT "$TMP/trouser3.pgm" $(tint) -strip -resize '57x19!' -depth 16 "PNG48:$OUT/images/trouser/trouser-03-rgb16-57x19.png"  # 16-bit RGB PNG

# 4. The TFRecord fixture, written by mimtf itself.
BUILD=${BUILD_DIR:-/tmp/build-fixtures}
mvn -B -q -Dbuild.dir="$BUILD" test-compile dependency:build-classpath -Dmdep.outputFile="$BUILD/cp.txt"
java -cp "$BUILD/classes:$BUILD/test-classes:$(cat "$BUILD/cp.txt")" org.mimtf.data.source.FixtureWriter \
  "$OUT/fashion-mnist/t10k-images-idx3-ubyte.gz" "$OUT/fashion-mnist/t10k-labels-idx1-ubyte.gz" 64 \
  "$OUT/tfrecord/fmnist-small.tfrecord"

du -ab "$OUT" | sort -k2
