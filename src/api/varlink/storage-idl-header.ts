// The hand-written header of org.bootc.Storage's interface description: the prose before `interface
// org.bootc.Storage` in varlink/org.bootc.Storage.varlink and in GetInterfaceDescription's answer. Edit it here,
// then run `make generate`; the methods, types and errors after it are rendered from the table (render-idl.ts).

/** The comment lines that open the interface description, each ending in a newline. */
export const STORAGE_IDL_HEADER = `# org.bootc.Storage: bootc's private container image store, served over Varlink.
#
# The same API as the D-Bus interface org.bootc.Storage (dbus/org.bootc.Storage.xml), answered by the same
# core in the same daemon (bootc-storaged): the same methods, jobs, joining of identical requests, queue limit
# and errors. This file is generated from the daemon's operations table, which also checks every call's
# parameters; the daemon returns this same text from org.varlink.service.GetInterfaceDescription.
#
# Socket
# ======
# unix:/run/bootc/org.bootc.Storage (bootc-storaged --varlink-socket PATH changes it). Under systemd the
# socket is created by bootc-storaged.socket and the daemon is started on the first connection (socket
# activation); started any other way, the daemon binds the path itself, mode 0600. Every method is in
# org.bootc.Storage; org.varlink.service (GetInfo, GetInterfaceDescription) is there too.
#
# Access control
# ==============
# Anyone may connect (mode 0666, as systemd's own Varlink services are). Each call is authorized by polkit
# exactly as over D-Bus: the same method→action table and details, with the peer process (its SO_PEERCRED
# pid and uid, and its start time) as the subject. Root is allowed without asking; an ordinary user may read
# (Exists, List, ListJobs) and is refused writes (PermissionDenied) before anything is queued. Varlink has no
# interactive flag: a check that would need a password is refused. Jobs record the caller's uid as Owner; a
# caller of a job may cancel it (withdrawing itself, as on D-Bus), anyone else needs cancel-foreign.
#
# Jobs
# ====
# Pull, PullFromHost, Remove, Prune and GarbageCollect (unless dryRun) run as jobs on the daemon's one queue,
# shared with D-Bus callers: an identical request already queued or running is joined, not repeated; a full
# queue refuses with Busy. A call replies when its job ends.
#   * Pull called with "more": true streams the job's progress (continues: true replies carrying job,
#     progress, bytesDone, bytesTotal, layersDone, layersTotal, at most every 100 ms), then the final reply,
#     which also carries fetched.
#   * Called with "oneway": true, Pull, PullFromHost, Remove, Prune and GarbageCollect only start (or join)
#     the job and return at once; nothing is answered. Follow such a job with ListJobs.
#   * A client that disconnects does NOT cancel its job: the job runs on (others may have joined it) and its
#     result lands in the store. To stop a job, call CancelJob with its id (from a Pull progress reply or from
#     ListJobs), from any connection; the call that started it then fails with Canceled.
#
# Protocol limits
# ===============
#   * A call may be at most 1 MiB. A longer one (no NUL within 1 MiB), a message that is not a JSON object,
#     one nesting arrays or objects deeper than 64 levels, or one left unfinished for 30 s gets
#     org.varlink.service.InvalidParameter {parameter: "message"}, and the connection is closed.
#   * Connections are counted per user (the uid the kernel recorded when the client connected): one user may
#     hold 16, all users but root 64 together, and root 64 of its own. One more receives an unsolicited
#     org.bootc.Storage.Busy error and is closed. One user's connections may buffer 4 MiB of input together;
#     the connection that would pass it gets InvalidParameter {parameter: "message"} and is closed.
#   * A connection with no call running, queued or half-sent for 60 s is closed (a streaming call keeps it).
#   * A connection belongs to the process that opened it: polkit is asked about that process, bound when the
#     connection was accepted. Once that process has exited (its socket handed to another process), every
#     call is refused with org.varlink.service.PermissionDenied and the connection is closed.
#   * Calls on one connection are answered one at a time, in order (pipelining works); other connections'
#     calls are taken in between. Open a second connection to call CancelJob while a Pull is waiting on the
#     first.
#   * A wrongly typed, missing or unknown parameter gets org.varlink.service.InvalidParameter naming it.
#   * A "oneway" call is never answered, not even with an error (errors are only logged by the daemon).
#
# Image references
# ================
# Every image argument is a fully-qualified registry reference, host/path[:tag][@digest] (for example
# quay.io/fedora/fedora-bootc:42); short names and transports ("docker://", "oci:", ...) are refused with
# InvalidReference. The rules are those of the D-Bus API.
#
# Errors
# ======
# Programs branch on the error name only; "message" is human-readable text for logs and users. Failure names
# used only inside the daemon (PodmanFailed, ToolMissing, TimedOut, AuthFileInvalid) are never sent: during
# Pull and PullFromHost they are reported as PullFailed, everywhere else as StorageFailure, with the detail in
# the message. Registry credentials are never included in any error.
`;
