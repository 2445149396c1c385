<?php
header("Content-Type: text/plain");
echo "Hello from PHP, ", htmlspecialchars($_GET["name"] ?? "nobody"), "\n";
