// Every page of the UI; the navigation follows each page's order and role.
import './overview.js';
import './bundles.js';
import './users.js';
import './audit.js';
import './logs.js';
