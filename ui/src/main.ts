import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { mark } from "./lib/marks";
import { markDesktop } from "./lib/theme";

mark("script");
markDesktop();
const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
const app = mount(App, { target });
mark("mounted");
export default app;
