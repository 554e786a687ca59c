"""
The console screen in the browser, for end-to-end tests: key presses as a person types them
through noVNC, and the canvas read back (is it showing something, has it changed).
"""

CONSOLE_TIMEOUT_MS = 45_000

# The canvas is "not blank" when it has several colours and enough lit pixels (text).
CANVAS_STATS_JS = """
() => {
  const canvas = document.querySelector('[data-testid="console-screen"] canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) { return null; }
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let lit = 0, hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    colours.add(rgb);
    if (data[i] + data[i + 1] + data[i + 2] > 150) { lit += 1; }
    hash = (hash * 31 + rgb) | 0;
  }
  return {width: canvas.width, height: canvas.height, colours: colours.size, lit, hash};
}
"""


# Characters typed with Shift held on a US keyboard, and the key that types them.
SHIFTED_KEYS = {
    ">": "Period",
    "<": "Comma",
    "$": "Digit4",
    "(": "Digit9",
    ")": "Digit0",
    "*": "Digit8",
    "_": "Minus",
    "|": "Backslash",
    ":": "Semicolon",
    '"': "Quote",
    "?": "Slash",
}


def type_like_a_person(page, text):
    """Key presses as from a keyboard, Shift held down for shifted characters (Playwright's
    keyboard.type() sends ">" without Shift, which a VNC server given scancodes reads as ".")."""
    for char in text:
        if char == "\n":
            page.keyboard.press("Enter")
        elif char.isupper():
            page.keyboard.press(f"Shift+Key{char}")
        elif char in SHIFTED_KEYS:
            page.keyboard.press(f"Shift+{SHIFTED_KEYS[char]}")
        else:
            page.keyboard.press(char if char != " " else "Space")
        page.wait_for_timeout(20)


def canvas_stats(page):
    return page.evaluate(CANVAS_STATS_JS)


def wait_for_frame(page):
    """Wait until the console canvas shows something that is not one flat colour."""
    page.wait_for_function(
        f"() => {{ const s = ({CANVAS_STATS_JS})(); return s && s.colours > 1 && s.lit > 200; }}",
        timeout=CONSOLE_TIMEOUT_MS,
    )
    return canvas_stats(page)


def wait_for_change(page, before_hash):
    page.wait_for_function(
        f"() => {{ const s = ({CANVAS_STATS_JS})(); return s && s.hash !== {before_hash}; }}",
        timeout=CONSOLE_TIMEOUT_MS,
    )
