"""The fisheye camera example, as the vendor describes its `fisheye-api` pod: standard library
only. It lists the camera's images, fetches a selection as one (stored) ZIP, reads each PNG's
header (size, bit depth, colour type) and writes what it found into /data.

Run it in a pod on the EM, or in the emulator: `python3 /data/fisheye_api.py [COUNT]`.
"""

import json
import os
import struct
import sys
import urllib.request
import zipfile

BASE = "http://satellite-telemetry.dphi-tm"
OUT = "/data/fisheye"


def get_json(path):
    with urllib.request.urlopen(BASE + path, timeout=60) as answer:  # noqa: S310 (http://BASE)
        return json.load(answer)


def png_header(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return {"width": width, "height": height, "bit_depth": depth, "colour_type": colour}


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.makedirs(OUT, exist_ok=True)
    listing = get_json("/api/images/list")
    names = listing["data"][:count]
    body = json.dumps({"images": names, "limit": count}).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(BASE + "/api/images", data=body, headers=headers)  # noqa: S310
    answer = urllib.request.urlopen(request, timeout=120)  # noqa: S310 (BASE is http://)
    with answer, open(OUT + "/selection.zip", "wb") as out:
        kind = answer.headers.get("Content-Type")
        while True:
            chunk = answer.read(65536)
            if not chunk:
                break
            out.write(chunk)
    report = {"listed": len(listing["data"]), "asked": names, "content_type": kind, "images": []}
    with zipfile.ZipFile(OUT + "/selection.zip") as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                header = png_header(member.read(64))
            stored = info.compress_type == zipfile.ZIP_STORED
            report["images"].append(
                {"name": info.filename, "bytes": info.file_size, "stored": stored, "png": header}
            )
    with open(OUT + "/report.json", "w") as out:
        json.dump(report, out, indent=2)
    print(f"{len(report['images'])} images, report in {OUT}/report.json")


if __name__ == "__main__":
    main()
