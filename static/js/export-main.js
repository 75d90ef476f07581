// Entry point of an exported HTML file (app/web/export.py inlines it with its
// imports): draw every embedded finding's head view from its snapshot. Nothing
// here may touch the network: the file opens from disk.

import { mountAll } from "./findings-view.js";

mountAll();
