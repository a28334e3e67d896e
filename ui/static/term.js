// term.js: a minimal VT100-style terminal for exec, written for roam. It
// keeps a grid of cells, interprets the control sequences shells and
// common tools send (cursor moves, erase, carriage return, backspace,
// colours are accepted and dropped), and maps keys to the bytes a
// terminal sends. Enough for a shell, top-like redraws and line editing;
// not a full xterm.

const ESC = '\x1b';

export class Terminal {
  constructor(el, { onData, scrollback = 1000 } = {}) {
    this.el = el;
    this.onData = onData || (() => {});
    this.scrollback = scrollback;
    this.cols = 80;
    this.rows = 24;
    this.lines = [[]]; // scrollback + screen, each a list of characters
    this.x = 0;
    this.y = 0; // row within the screen (the last `rows` lines)
    this.pending = ''; // an escape sequence split across writes
    this.decoder = new TextDecoder();
    this.dirty = false;
    el.tabIndex = 0;
    el.setAttribute('role', 'textbox');
    el.setAttribute('aria-multiline', 'true');
    el.addEventListener('keydown', (e) => this.key(e));
    el.addEventListener('paste', (e) => { e.preventDefault(); this.onData(e.clipboardData.getData('text')); });
  }

  // fit sizes the grid to the element; it returns {cols, rows}.
  fit() {
    const probe = document.createElement('span');
    probe.textContent = 'M'.repeat(10);
    this.el.append(probe);
    const w = probe.getBoundingClientRect().width / 10 || 8;
    const lh = parseFloat(getComputedStyle(this.el).lineHeight) || 17;
    probe.remove();
    const style = getComputedStyle(this.el);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    this.cols = Math.max(20, Math.floor((this.el.clientWidth - padX) / w));
    this.rows = Math.max(5, Math.floor((this.el.clientHeight - padY) / lh));
    this.render();
    return { cols: this.cols, rows: this.rows };
  }

  get top() { return Math.max(0, this.lines.length - this.rows); }

  line(y) {
    const i = this.top + y;
    while (this.lines.length <= i) this.lines.push([]);
    return this.lines[i];
  }

  newline() {
    if (this.y < this.rows - 1) { this.y++; this.line(this.y); return; }
    this.lines.push([]);
    if (this.lines.length > this.scrollback + this.rows) this.lines.splice(0, this.lines.length - this.scrollback - this.rows);
  }

  put(ch) {
    if (this.x >= this.cols) { this.x = 0; this.newline(); }
    const l = this.line(this.y);
    while (l.length < this.x) l.push(' ');
    l[this.x++] = ch;
  }

  // write feeds output bytes (Uint8Array) or text to the terminal.
  write(data) {
    let s = this.pending + (typeof data === 'string' ? data : this.decoder.decode(data, { stream: true }));
    this.pending = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === ESC) {
        const used = this.escape(s, i);
        if (used < 0) { this.pending = s.slice(i); break; }
        i += used - 1;
        continue;
      }
      switch (c) {
        case '\r': this.x = 0; break;
        case '\n': this.newline(); break;
        case '\b': this.x = Math.max(0, this.x - 1); break;
        case '\t': this.x = Math.min(this.cols - 1, (Math.floor(this.x / 8) + 1) * 8); break;
        case '\x07': break; // bell
        default: if (c >= ' ') this.put(c);
      }
    }
    this.schedule();
  }

  // escape interprets the sequence at s[i] and returns its length, or -1
  // when it is incomplete.
  escape(s, i) {
    if (i + 1 >= s.length) return -1;
    const t = s[i + 1];
    if (t === ']') { // OSC (window title …): up to BEL or ESC \
      const bel = s.indexOf('\x07', i);
      const st = s.indexOf(ESC + '\\', i + 2);
      const end = [bel >= 0 ? bel + 1 : -1, st >= 0 ? st + 2 : -1].filter((x) => x > 0);
      return end.length ? Math.min(...end) - i : -1;
    }
    if (t !== '[') return 2; // ESC = , ESC > … : ignored
    let j = i + 2;
    while (j < s.length && !/[@-~]/.test(s[j])) j++;
    if (j >= s.length) return -1;
    this.csi(s.slice(i + 2, j), s[j]);
    return j + 1 - i;
  }

  csi(params, cmd) {
    const priv = params.startsWith('?');
    const nums = (priv ? params.slice(1) : params).split(';').map((x) => parseInt(x, 10));
    const n = (k, d = 1) => (Number.isNaN(nums[k]) || nums[k] === undefined ? d : nums[k] || d);
    const l = () => this.line(this.y);
    switch (cmd) {
      case 'A': this.y = Math.max(0, this.y - n(0)); break;
      case 'B': this.y = Math.min(this.rows - 1, this.y + n(0)); break;
      case 'C': this.x = Math.min(this.cols - 1, this.x + n(0)); break;
      case 'D': this.x = Math.max(0, this.x - n(0)); break;
      case 'G': this.x = Math.min(this.cols - 1, n(0) - 1); break;
      case 'H': case 'f': this.y = Math.min(this.rows - 1, n(0) - 1); this.x = Math.min(this.cols - 1, n(1) - 1); break;
      case 'J': {
        const mode = nums[0] || 0;
        if (mode === 2 || mode === 3) { for (let y = 0; y < this.rows; y++) this.line(y).length = 0; }
        else if (mode === 0) { l().length = this.x; for (let y = this.y + 1; y < this.rows; y++) this.line(y).length = 0; }
        break;
      }
      case 'K': {
        const mode = nums[0] || 0;
        const line = l();
        if (mode === 0) line.length = Math.min(line.length, this.x);
        else if (mode === 1) for (let x = 0; x <= this.x && x < line.length; x++) line[x] = ' ';
        else line.length = 0;
        break;
      }
      case 'P': l().splice(this.x, n(0)); break;
      case '@': l().splice(this.x, 0, ...' '.repeat(n(0))); break;
      default: break; // m (colours), h/l (modes), r (scroll region)…: accepted, not drawn
    }
  }

  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => { this.dirty = false; this.render(); });
  }

  render() {
    const text = this.lines.map((l) => l.join('')).join('\n');
    this.el.textContent = text;
    this.el.scrollTop = this.el.scrollHeight;
  }

  // key turns a key press into the bytes a terminal sends.
  key(e) {
    const map = {
      Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: ESC,
      ArrowUp: ESC + '[A', ArrowDown: ESC + '[B', ArrowRight: ESC + '[C', ArrowLeft: ESC + '[D',
      Home: ESC + '[H', End: ESC + '[F', Delete: ESC + '[3~', PageUp: ESC + '[5~', PageDown: ESC + '[6~',
    };
    let out = null;
    if (e.ctrlKey && !e.altKey && e.key.length === 1) {
      const c = e.key.toUpperCase().charCodeAt(0);
      if (c >= 64 && c <= 95) out = String.fromCharCode(c - 64);
      if (e.shiftKey && e.key.toLowerCase() === 'v') return; // paste
      if (e.key.toLowerCase() === 'c' && window.getSelection()?.toString()) return; // copy
    } else if (e.key === 'Tab' && e.shiftKey) {
      return; // Shift+Tab leaves the terminal: keyboard users are never trapped
    } else if (map[e.key]) {
      out = map[e.key];
    } else if (e.key.length === 1 && !e.metaKey) {
      out = (e.altKey ? ESC : '') + e.key;
    }
    if (out === null) return;
    e.preventDefault();
    this.onData(out);
  }
}
