// Runs the AutoConfig hook (argv[2]) in a model of the Thunderbird globals it
// uses, drives it through the steps of a scenario (argv[3], JSON) and prints
// what it did as JSON. The model is deliberately small: observers, one-shot
// timers, prefs, the report file and IMAP servers with folders. What the real
// Thunderbird does is proven by tests/e2e/; this checks the script's own logic
// (which trigger runs the pass, how often, what a late notification does).
"use strict";

const fs = require("fs");
const vm = require("vm");

const [scriptPath, scenarioPath] = process.argv.slice(2);
const scenario = JSON.parse(fs.readFileSync(scenarioPath, "utf8"));

const OFFLINE = 0x08000000;
const log = { reports: [], locked: [], dumps: [], descendantReads: {}, timers: [] };
const observers = {};
const timers = [];

const Ci = {
  nsITimer: { TYPE_ONE_SHOT: 0 },
  nsIFile: "nsIFile",
  nsIFileInputStream: "nsIFileInputStream",
  nsIScriptableInputStream: "nsIScriptableInputStream",
  nsIFileOutputStream: "nsIFileOutputStream",
  nsISafeOutputStream: "nsISafeOutputStream",
  nsIImapIncomingServer: "nsIImapIncomingServer",
  nsIFolderListener: { added: 1 },
  nsIMsgFolderNotificationService: { folderAdded: 2 },
};

function makeFolder(server, name, flags) {
  return {
    URI: "imap://" + server.key + "/" + name,
    server,
    isServer: false,
    flags: flags || 0,
    updates: 0,
    setFlag(flag) {
      this.flags |= flag;
    },
    updateFolder() {
      this.updates++;
    },
  };
}

function makeServer(spec) {
  const server = {
    key: spec.key,
    type: spec.type || "imap",
    hostName: spec.hostname || "imap.example.test",
    offlineDownload: !!spec.offline_download,
    limitOfflineMessageSize: false,
    maxMessageSize: 0,
    ints: { autosync_max_age_days: 30 },
    folders: [],
    QueryInterface() {
      return this;
    },
    getIntValue(name) {
      return this.ints[name];
    },
    setIntValue(name, value) {
      this.ints[name] = value;
    },
  };
  server.rootFolder = {
    get descendants() {
      log.descendantReads[server.key] = (log.descendantReads[server.key] || 0) + 1;
      return server.folders.slice();
    },
  };
  for (const [name, flags] of spec.folders || []) {
    server.folders.push(makeFolder(server, name, flags));
  }
  return server;
}

const servers = scenario.servers.map(makeServer);
const listeners = { mfn: [], session: [], server: [] };
const MailServices = {
  accounts: {
    get allServers() {
      return servers.slice();
    },
    addIncomingServerListener(l) {
      listeners.server.push(l);
    },
  },
  mfn: {
    addListener(l) {
      listeners.mfn.push(l);
    },
  },
  mailSession: {
    AddFolderListener(l) {
      listeners.session.push(l);
    },
  },
};

function notify(topic) {
  for (const observer of (observers[topic] || []).slice()) {
    observer(null, topic);
  }
}

let shuttingDown = false;
const Services = {
  obs: {
    addObserver(fn, topic) {
      (observers[topic] = observers[topic] || []).push(fn);
    },
    removeObserver(fn, topic) {
      observers[topic] = (observers[topic] || []).filter(f => f !== fn);
    },
  },
  prefs: {
    getDefaultBranch() {
      return { setBoolPref() {}, setIntPref() {} };
    },
    lockPref(name) {
      log.locked.push(name);
    },
  },
  dirsvc: {
    get() {
      return { append() {} };
    },
  },
  startup: {
    get shuttingDown() {
      return shuttingDown;
    },
  },
};

const contracts = {
  "@mozilla.org/timer;1": () => {
    const timer = {
      cancelled: false,
      fired: false,
      initWithCallback(callback, delay) {
        this.callback = callback;
        this.delay = delay;
        timers.push(this);
      },
      cancel() {
        this.cancelled = true;
      },
    };
    return timer;
  },
  "@mozilla.org/network/safe-file-output-stream;1": () => ({
    text: "",
    init() {},
    write(text) {
      this.text += text;
    },
    QueryInterface() {
      return this;
    },
    finish() {
      log.reports.push(JSON.parse(this.text));
    },
  }),
};
const Cc = new Proxy({}, {
  get(target, name) {
    return { createInstance: () => contracts[name]() };
  },
});

const sandbox = {
  Services,
  Ci,
  Cc,
  Cu: {},
  ChromeUtils: {
    importESModule() {
      return { MailServices };
    },
    generateQI() {
      return function QueryInterface() {
        return this;
      };
    },
  },
  dump(text) {
    log.dumps.push(text);
  },
};
vm.createContext(sandbox);
// Thunderbird skips the first line of an AutoConfig file.
const source = fs.readFileSync(scriptPath, "utf8");
vm.runInContext(source.slice(source.indexOf("\n") + 1), sandbox, { filename: scriptPath });

function fireTimers() {
  for (const timer of timers.slice()) {
    if (!timer.cancelled && !timer.fired) {
      timer.fired = true;
      const cb = timer.callback;
      typeof cb == "function" ? cb() : cb.notify(timer);
    }
  }
}

for (const step of scenario.steps) {
  if (step.notify) {
    notify(step.notify);
  } else if (step.fire_timers) {
    fireTimers();
  } else if (step.shutting_down) {
    shuttingDown = true;
  } else if (step.add_folder) {
    const { server: key, name, flags, via } = step.add_folder;
    const server = servers.find(s => s.key == key);
    const folder = makeFolder(server, name, flags);
    server.folders.push(folder);
    for (const route of via) {
      if (route == "mfn") {
        listeners.mfn.forEach(l => l.folderAdded(folder));
      } else {
        listeners.session.forEach(l => l.onFolderAdded(server.rootFolder, folder));
      }
    }
  }
}

log.timers = timers.map(t => ({ delay: t.delay, cancelled: t.cancelled, fired: t.fired }));
log.listeners = { mfn: listeners.mfn.length, session: listeners.session.length, server: listeners.server.length };
log.servers = servers.map(s => ({
  key: s.key,
  offline_download: s.offlineDownload,
  offline: s.folders.filter(f => f.flags & OFFLINE).map(f => f.URI.split("/").pop()),
  updated: s.folders.filter(f => f.updates).map(f => f.URI.split("/").pop() + ":" + f.updates),
}));
process.stdout.write(JSON.stringify(log));
