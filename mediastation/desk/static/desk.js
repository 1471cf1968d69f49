// The desk's only script: live progress on a job page from server-sent events. Without it (or
// without JavaScript) the page refreshes itself (<noscript> meta refresh), so nothing depends on it.
const section = document.querySelector("[data-job-events]");
if (section && "EventSource" in window) {
  const state = document.getElementById("job-state");
  const stage = document.getElementById("job-stage");
  const bar = document.getElementById("job-progress");
  const count = document.getElementById("job-count");
  const events = new EventSource(section.dataset.jobEvents);
  events.addEventListener("progress", (event) => {
    const job = JSON.parse(event.data);
    state.dataset.state = job.state;
    stage.dataset.stage = job.stage;
    stage.textContent = job.stage_label;
    bar.max = job.total || 1;
    bar.value = job.done;
    count.textContent = `${job.done}/${job.total}`;
    if (job.state !== "queued" && job.state !== "running") {
      events.close();
      window.location.reload(); // the finished page: letter, labels, or the reason and "try again"
    }
  });
}
