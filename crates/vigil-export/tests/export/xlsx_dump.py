"""Reads an XLSX file with openpyxl and prints what a reader of it would see, as JSON.

Usage: xlsx_dump.py FILE  ->  {"sheets": [{"name", "freeze", "filter", "rows": [[cell, ...], ...]}]}
where each cell is null or {"v": value, "t": data_type, "q": quotePrefix, "fill": rgb|null,
"fmt": number_format}; date-time values are ISO text with microseconds.
"""
import datetime
import json
import re
import sys

import openpyxl


# OOXML writes some characters as _xHHHH_ (control characters, and the "_" of a literal
# "_x0041_" as _x005F_); Excel decodes them when it reads the file, openpyxl leaves inline
# strings as they are written. Decode them as Excel does, left to right.
CONTROL = re.compile("_x([0-9A-Fa-f]{4})_")


def cell(c):
    if c.value is None and not c.has_style:
        return None
    v = c.value
    if isinstance(v, str):
        v = CONTROL.sub(lambda m: chr(int(m.group(1), 16)), v)
    if isinstance(v, datetime.datetime):
        v = v.isoformat(timespec="microseconds")
    fill = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
    return {"v": v, "t": c.data_type, "q": bool(c.quotePrefix), "fill": fill, "fmt": c.number_format}


def main(path):
    book = openpyxl.load_workbook(path)
    sheets = []
    for ws in book.worksheets:
        sheets.append({
            "name": ws.title,
            "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "rows": [[cell(c) for c in row] for row in ws.iter_rows()],
        })
    json.dump({"sheets": sheets}, sys.stdout, ensure_ascii=False)


main(sys.argv[1])
