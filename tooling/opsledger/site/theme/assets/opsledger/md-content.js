/* Material for MkDocs' inline content scripts, as a file (opsledger's CSP allows no inline script). */
(function () {
  if (document.currentScript.getAttribute("data-md-tabs-link")) {
    var tabs = __md_get("__tabs");
    if (Array.isArray(tabs)) {
      var sets = document.querySelectorAll(".tabbed-set");
      outer: for (var i = 0; i < sets.length; i++) {
        var labels = sets[i].querySelector(".tabbed-labels");
        for (var t = 0; t < tabs.length; t++) {
          var all = labels.getElementsByTagName("label");
          for (var l = 0; l < all.length; l++) {
            if (all[l].innerText.trim() === tabs[t]) {
              document.getElementById(all[l].htmlFor).checked = true;
              continue outer;
            }
          }
        }
      }
    }
  }
  var target = document.getElementById(location.hash.slice(1));
  if (target && target.name) target.checked = target.name.indexOf("__tabbed_") === 0;
})();
